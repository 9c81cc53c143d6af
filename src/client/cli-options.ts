// Options of one CLI command (`UPLOAD --resume file`): each command declares its own in the command
// table, and only those are read off its words. Pure.
import { FilehiveClientError } from './errors.js';

/** What a command accepts, as declared in its table entry. */
export interface OptionSpec {
  /** As typed, e.g. `--resume`. */
  name: string;
  /** Set for an option that takes a value (`--parallel 4` or `--parallel=4`): its placeholder. */
  value?: string;
}

export interface SplitWords {
  args: string[];
  /** By name as typed (`--resume`): `true` for a flag, the text for an option with a value. */
  options: Map<string, string | true>;
}

/**
 * Separates a command's options from its arguments. A word starting with `-` (other than `-` itself)
 * is an option until a `--` word, after which everything is an argument, so a file named `--resume`
 * is `UPLOAD -- --resume`. A command without options takes every word as an argument.
 */
export function splitCommandOptions(
  command: string,
  specs: readonly OptionSpec[] | undefined,
  words: readonly string[],
): SplitWords {
  const options = new Map<string, string | true>();
  if (specs === undefined || specs.length === 0) return { args: [...words], options };
  const args: string[] = [];
  let onlyArgs = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (onlyArgs || !word.startsWith('-') || word === '-') {
      args.push(word);
      continue;
    }
    if (word === '--') {
      onlyArgs = true;
      continue;
    }
    const equals = word.indexOf('=');
    const name = equals < 0 ? word : word.slice(0, equals);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) {
      const known = specs.map((s) => s.name).join(', ');
      throw new FilehiveClientError(
        'USAGE',
        `unknown option ${name} for ${command} (it takes ${known}; put -- before a name that starts with -)`,
      );
    }
    if (spec.value === undefined) {
      if (equals >= 0) throw new FilehiveClientError('USAGE', `${name} takes no value`);
      options.set(name, true);
    } else if (equals >= 0) {
      options.set(name, word.slice(equals + 1));
    } else if (i + 1 < words.length) {
      options.set(name, words[++i] as string);
    } else {
      throw new FilehiveClientError('USAGE', `${name} needs a value ${spec.value}`);
    }
  }
  return { args, options };
}
