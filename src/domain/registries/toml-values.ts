import { ProxyError } from '../errors.js';

/**
 * Typed access to an already parsed TOML document. A value of the wrong type is an error naming
 * the file and the key, as a Go decoder into typed structs refuses it; unknown keys are ignored.
 */
export type TomlTable = Readonly<Record<string, unknown>>;

export class TomlReader {
  constructor(readonly file: string) {}

  fail(problem: string): ProxyError {
    return new ProxyError('config-invalid', `registries configuration ${this.file}: ${problem}`);
  }

  table(value: unknown, where: string): TomlTable {
    if (!isTable(value)) throw this.fail(`${where} must be a table`);
    return value;
  }

  optionalTable(table: TomlTable, key: string, where = key): TomlTable | undefined {
    const value = table[key];
    return value === undefined ? undefined : this.table(value, where);
  }

  string(table: TomlTable, key: string, where: string): string {
    const value = table[key];
    if (value === undefined) return '';
    if (typeof value !== 'string') throw this.fail(`${where} ${JSON.stringify(key)} must be a string`);
    return value;
  }

  boolean(table: TomlTable, key: string, where: string): boolean {
    const value = table[key];
    if (value === undefined) return false;
    if (typeof value !== 'boolean') throw this.fail(`${where} ${JSON.stringify(key)} must be true or false`);
    return value;
  }

  /** `undefined` when the key is absent: an explicit `[]` differs from no key at all. */
  optionalStrings(table: TomlTable, key: string, where = `${JSON.stringify(key)}`): string[] | undefined {
    const value = table[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw this.fail(`${where} must be an array of strings`);
    }
    return [...(value as string[])];
  }

  tables(table: TomlTable, key: string): TomlTable[] {
    const value = table[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw this.fail(`${JSON.stringify(key)} must be an array of tables ([[${key}]])`);
    return value.map((item, index) => this.table(item, `[[${key}]] #${index + 1}`));
  }
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
