// Runs the embedded emulators (kinesalite, dynalite, s3rver) on a thread of their own, so they use the
// second core while the pipeline's handlers run on the main thread. Plain JavaScript: a worker is
// started by Node itself, with no TypeScript loader.
const { parentPort, workerData } = require('node:worker_threads');
const kinesalite = require('kinesalite');
const dynalite = require('dynalite');
const S3rver = require('s3rver');

const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

async function start() {
  const { kinesisPath, dynamoPath, s3Directory } = workerData;
  const kinesis = kinesalite({
    path: kinesisPath,
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
  });
  const dynamo = dynalite({ path: dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Directory });
  const ports = { kinesis: await listen(kinesis), dynamodb: await listen(dynamo), s3: (await s3.run()).port };
  parentPort.on('message', async (message) => {
    if (message !== 'close') return;
    const close = (server) =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    await Promise.allSettled([close(kinesis), close(dynamo), s3.close()]);
    parentPort.postMessage({ closed: true });
  });
  parentPort.postMessage({ ports });
}

start().catch((error) => parentPort.postMessage({ error: error.message }));
