console.log('nabla cli stub', process.argv.slice(2).join(' '));
