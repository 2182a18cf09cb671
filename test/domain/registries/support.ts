import { parse } from 'smol-toml';
import { mergeRegistriesConf } from '../../../src/domain/registries/merge.js';
import { type RegistriesConfRole, parseRegistriesConfFile } from '../../../src/domain/registries/parse-file.js';
import { type RegistriesConf, type RegistriesConfFile } from '../../../src/domain/registries/registries-conf.js';

export const MAIN = '/etc/containers/registries.conf';

export function file(toml: string, path = MAIN, role: RegistriesConfRole = 'main'): RegistriesConfFile {
  return parseRegistriesConfFile(parse(toml), path, role);
}

/** A main file and drop-ins (`[path, toml]`), merged. */
export function conf(toml: string, ...dropIns: [string, string][]): RegistriesConf {
  return mergeRegistriesConf([file(toml), ...dropIns.map(([path, text]) => file(text, path, 'drop-in'))]);
}
