/** Reading and writing tensors: the safetensors format. */
export {
  serialize, deserialize, saveFile, loadFile, loadFileWithMetadata, writeFileAtomic,
  type Metadata, type Deserialized,
} from './safetensors.js';
