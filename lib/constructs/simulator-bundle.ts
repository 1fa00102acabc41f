import * as path from 'node:path';
import { AssetHashType, BundlingOutput, DockerImage } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { bundleSimulator } from '../../simulator/build';
import { PROJECT_ROOT } from './stream-consumer-function';

/** File name of the bundle in the asset's bundling folder. */
export const SIMULATOR_BUNDLE_FILE = 'simulator.js';

/**
 * The simulator CLI bundled by esbuild into one CommonJS file (the AWS SDK inside) that runs on a plain
 * Node.js install, uploaded as a CDK file asset. Bundled locally, never in Docker.
 */
export class SimulatorBundle extends Construct {
  readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: path.join(PROJECT_ROOT, 'simulator'),
      // The bundle also holds lambdas/shared and the SDK: hash what was built, not the simulator folder.
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Required by the API as the fallback; never pulled, since local bundling always succeeds.
        image: DockerImage.fromRegistry('unused'),
        // The asset is the file itself (not a zip of the folder), so the instance can run it as fetched.
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir: string): boolean {
            bundleSimulator(path.join(outputDir, SIMULATOR_BUNDLE_FILE));
            return true;
          },
        },
      },
    });
  }
}
