/**
 * A usage error prints its one line and where to look, not the whole help (commander prints this
 * text after the error): `command.showHelpAfterError(seeHelp('npm run last3'))`.
 */
export function seeHelp(invocation: string): string {
  return `(see \`${invocation}${invocation.startsWith('npm ') ? ' --' : ''} --help\`)`;
}

/**
 * Under `npm run` (without `-s`), npm prints its `> name@version script` banner on stdout, ahead of a
 * command's JSON or CSV, so `npm run last3 -- --json | jq` fails. npm offers no way to move it but
 * silencing itself, which a project `.npmrc` would do for every npm command (a mistyped script name
 * then fails without a word): the command says, on stderr, what to run instead, when its output goes
 * to a pipe or a file.
 */
export function npmBannerNote(
  script: string,
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTerminal = process.stdout.isTTY === true,
): string | undefined {
  if (stdoutIsTerminal || env.npm_lifecycle_event !== script || env.npm_config_loglevel === 'silent')
    return undefined;
  return `note: npm printed its "> ${env.npm_package_name ?? 'package'}@${env.npm_package_version ?? ''} ${script}" banner on stdout before this output: for the output alone, run \`npm run -s ${script} -- ...\` (-s: npm --silent)`;
}
