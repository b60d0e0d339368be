/** torch.autograd's surface: grad, backward, gradcheck, grad-mode scopes. */
export { grad, backward, retainGrad } from './engine.js';
export type { BackwardOptions, GradOptions } from './engine.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions } from './gradcheck.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './grad-mode.js';
