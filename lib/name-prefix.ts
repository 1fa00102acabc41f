/**
 * A namePrefix (context `namePrefix`, the CLIs' `--name-prefix`) ends with a hyphen, appended if
 * missing: `dev` names `dev-sensor-readings` and `dev-SensorPipeline`, as `dev-` does; empty stays empty.
 */
export function withHyphen(prefix: string): string {
  return prefix === '' || prefix.endsWith('-') ? prefix : `${prefix}-`;
}
