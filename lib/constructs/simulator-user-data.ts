/** The systemd unit, and the system user it runs as. */
export const SIMULATOR_SERVICE = 'sensor-simulator';
/** Where the bundle is installed on the instance. */
export const SIMULATOR_INSTALL_PATH = '/opt/sensor-simulator/simulator.js';
/**
 * Node.js from the Amazon Linux 2023 repository. AL2023 namespaces every Node.js version (packages
 * nodejs20, nodejs22, nodejs24; binaries /usr/bin/node-20, node-22, node-24) and points /usr/bin/node at
 * one of them through `alternatives`, so the unit names the versioned binary. 22 is the newest line that
 * every AL2023 repository release since its introduction carries; the bundle targets Node.js 20 and later.
 */
export const NODE_PACKAGE = 'nodejs22';
export const NODE_BINARY = '/usr/bin/node-22';

export interface SimulatorUserDataOptions {
  /** `s3://bucket/key` of the simulator bundle. */
  bundleUrl: string;
  streamName: string;
  region: string;
  /** Readings per second. */
  rate: number;
  /** Enable and start the service now (and at every boot); otherwise install it only. */
  start: boolean;
  /**
   * The deployment's reading schema file (its name, for the extension, and its text), installed beside
   * the bundle and passed as --schema; none for the lab's default schema.
   */
  schema?: { fileName: string; text: string };
}

/**
 * The instance's first-boot script (bash, after the `#!/bin/bash` line of CDK's Linux user data): Node.js,
 * a system user, the bundle from S3, and the `sensor-simulator` systemd unit. Its output goes to
 * /var/log/cloud-init-output.log. Values may be CloudFormation tokens; they are resolved at deploy time.
 */
export function simulatorUserData(options: SimulatorUserDataOptions): string[] {
  const { bundleUrl, streamName, region, rate, start, schema } = options;
  const installDir = SIMULATOR_INSTALL_PATH.slice(0, SIMULATOR_INSTALL_PATH.lastIndexOf('/'));
  // Installed under a fixed name: only the extension (JSON or YAML) is taken from the user's file.
  const schemaPath = schema
    ? `${installDir}/schema${(/\.(json|ya?ml)$/i.exec(schema.fileName)?.[0] ?? '.json').toLowerCase()}`
    : undefined;
  const execStart = [
    NODE_BINARY,
    SIMULATOR_INSTALL_PATH,
    `--target aws --stream ${streamName} --region ${region} --rate ${rate}`,
    ...(schemaPath ? [`--schema ${schemaPath}`] : []),
  ].join(' ');
  return [
    'set -euo pipefail',
    '# Package mirrors and S3 can fail for a moment at first boot: try each download up to 5 times.',
    'retry() { local n; for n in 1 2 3 4; do "$@" && return 0; sleep $((n * 10)); done; "$@"; }',
    '',
    `retry dnf install -y ${NODE_PACKAGE}`,
    `${NODE_BINARY} --version`,
    '',
    `id -u ${SIMULATOR_SERVICE} >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /sbin/nologin ${SIMULATOR_SERVICE}`,
    `install -d -m 0755 ${installDir}`,
    `retry aws s3 cp --region ${region} --only-show-errors ${bundleUrl} ${SIMULATOR_INSTALL_PATH}`,
    `chmod 0644 ${SIMULATOR_INSTALL_PATH}`,
    // The schema as base64: no character of it can end a here-document or reach the shell.
    ...(schema && schemaPath
      ? [
          `echo '${Buffer.from(schema.text, 'utf8').toString('base64')}' | base64 -d > ${schemaPath}`,
          `chmod 0644 ${schemaPath}`,
        ]
      : []),
    '',
    `cat > /etc/systemd/system/${SIMULATOR_SERVICE}.service <<'UNIT'`,
    '[Unit]',
    `Description=Sensor simulator: ${schema ? "readings of the deployment's schema" : 'lab readings'} to the Kinesis stream ${streamName}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `User=${SIMULATOR_SERVICE}`,
    `Group=${SIMULATOR_SERVICE}`,
    `Environment=AWS_REGION=${region}`,
    `Environment=SENSOR_STREAM=${streamName}`,
    `ExecStart=${execStart}`,
    'Restart=on-failure',
    'RestartSec=10',
    '# On SIGTERM the simulator sends what it has buffered and prints its summary.',
    'TimeoutStopSec=30',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    ...(start
      ? [`systemctl enable --now ${SIMULATOR_SERVICE}.service`]
      : [
          `# simulatorStart=false: installed, neither enabled nor started. Start it with: sudo systemctl start ${SIMULATOR_SERVICE}`,
        ]),
  ];
}
