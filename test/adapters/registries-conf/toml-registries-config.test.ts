import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { TomlRegistriesConfig, type TomlRegistriesConfigOptions } from '../../../src/adapters/registries-conf/toml-registries-config.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { dockerString, parseDockerReference, withDefaultTag } from '../../../src/domain/reference.js';

/** A fake root: `etc/` for the system files, `home/` for the user's. */
class Tree {
  readonly root = mkdtempSync(join(tmpdir(), 'registries-conf-'));
  readonly home = join(this.root, 'home');
  readonly systemPath = join(this.root, 'etc', 'registries.conf');
  readonly systemDir = join(this.root, 'etc', 'registries.conf.d');
  readonly userPath = join(this.home, '.config', 'containers', 'registries.conf');
  readonly userDir = join(this.home, '.config', 'containers', 'registries.conf.d');

  write(path: string, text: string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  config(explicitPath?: string): TomlRegistriesConfig {
    const options: TomlRegistriesConfigOptions = { explicitPath, homeDir: this.home, systemPath: this.systemPath, systemDropInDir: this.systemDir };
    return new TomlRegistriesConfig(options);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const registry = (location: string, extra = '') => `[[registry]]\nlocation = "${location}"\n${extra}`;
const mirrored = (location: string, mirror: string) => registry(location, `[[registry.mirror]]\nlocation = "${mirror}"\n`);

async function sourcesOf(config: TomlRegistriesConfig, input: string): Promise<string[]> {
  return (await config.pullSources(withDefaultTag(parseDockerReference(input)))).map((s) => dockerString(s.reference));
}

async function configError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(isProxyError(err, 'config-invalid'), String(err)).to.equal(true);
    return err as Error;
  }
  return expect.fail('expected a config-invalid error');
}

describe('TomlRegistriesConfig: the main file and its drop-ins', () => {
  let tree: Tree;
  beforeEach(() => (tree = new Tree()));
  afterEach(() => tree.remove());

  it('no file anywhere: the defaults, pulling from the name itself', async () => {
    const config = tree.config();
    expect(await sourcesOf(config, 'quay.io/a/b')).to.deep.equal(['quay.io/a/b:latest']);
    expect(await config.credentialHelpers()).to.deep.equal(['containers-auth.json']);
  });

  it('the system file with system drop-ins, then user drop-ins, in lexical order', async () => {
    tree.write(tree.systemPath, mirrored('a.local', 'system.local') + 'credential-helpers = ["one"]\n');
    tree.write(join(tree.systemDir, '20-b.conf'), 'credential-helpers = ["two"]\n');
    tree.write(join(tree.systemDir, '10-a.conf'), mirrored('a.local', 'dropin.local'));
    tree.write(join(tree.userDir, '00-user.conf'), 'credential-helpers = ["three"]\n');
    const config = tree.config();
    expect(await sourcesOf(config, 'a.local/x')).to.deep.equal(['dropin.local/x:latest', 'a.local/x:latest']);
    expect(await config.credentialHelpers()).to.deep.equal(['three']);
  });

  it('drop-ins: only *.conf files directly in the directory', async () => {
    tree.write(tree.systemPath, mirrored('a.local', 'system.local'));
    tree.write(join(tree.systemDir, '10-a.conf.bak'), mirrored('a.local', 'backup.local'));
    tree.write(join(tree.systemDir, 'sub', '10-a.conf'), mirrored('a.local', 'nested.local'));
    mkdirSync(join(tree.systemDir, 'dir.conf'));
    expect(await sourcesOf(tree.config(), 'a.local/x')).to.deep.equal(['system.local/x:latest', 'a.local/x:latest']);
  });

  it('a per-user registries.conf replaces the system file and ignores the system drop-ins', async () => {
    tree.write(tree.systemPath, registry('a.local', 'blocked = true\n'));
    tree.write(join(tree.systemDir, '10-a.conf'), registry('b.local', 'blocked = true\n'));
    tree.write(tree.userPath, mirrored('a.local', 'user.local'));
    tree.write(join(tree.userDir, '10-u.conf'), mirrored('c.local', 'user-dropin.local'));
    const config = tree.config();
    const sources = await config.pullSources(parseDockerReference('b.local/x:1'));
    expect(sources.map((s) => s.blocked)).to.deep.equal([false]);
    expect(await sourcesOf(config, 'a.local/x')).to.deep.equal(['user.local/x:latest', 'a.local/x:latest']);
    expect(await sourcesOf(config, 'c.local/x')).to.deep.equal(['user-dropin.local/x:latest', 'c.local/x:latest']);
  });

  it('an explicit file replaces both main files, and both drop-in directories still apply', async () => {
    tree.write(tree.userPath, mirrored('a.local', 'user.local'));
    const explicit = tree.write(join(tree.root, 'mine.conf'), mirrored('a.local', 'explicit.local'));
    tree.write(join(tree.systemDir, '10.conf'), mirrored('b.local', 'sys-dropin.local'));
    tree.write(join(tree.userDir, '10.conf'), mirrored('c.local', 'user-dropin.local'));
    const config = tree.config(explicit);
    expect(await sourcesOf(config, 'a.local/x')).to.deep.equal(['explicit.local/x:latest', 'a.local/x:latest']);
    expect(await sourcesOf(config, 'b.local/x')).to.deep.equal(['sys-dropin.local/x:latest', 'b.local/x:latest']);
    expect(await sourcesOf(config, 'c.local/x')).to.deep.equal(['user-dropin.local/x:latest', 'c.local/x:latest']);
  });

  it('a missing explicit file is an error naming it', async () => {
    const missing = join(tree.root, 'nope.conf');
    expect((await configError(tree.config(missing).credentialHelpers())).message)
      .to.include(missing)
      .and.include('does not exist');
  });

  it('bad TOML: one error naming the file, line and column; later calls fail the same way', async () => {
    tree.write(tree.systemPath, 'a = 1\n[[registry]\nlocation = "x"\n');
    const config = tree.config();
    const first = await configError(config.pullSources(parseDockerReference('x/y:1')));
    expect(first.message).to.include(tree.systemPath).and.include('line 2');
    expect((await configError(config.credentialHelpers())).message).to.equal(first.message);
  });

  it('a v1 drop-in is refused, naming the drop-in', async () => {
    tree.write(tree.systemPath, '[registries.search]\nregistries = ["quay.io"]\n');
    const dropIn = tree.write(join(tree.systemDir, '50-old.conf'), '[registries.block]\nregistries = ["x.local"]\n');
    expect((await configError(tree.config().credentialHelpers())).message)
      .to.include(dropIn)
      .and.include('v2 format');
  });

  it('a validation error in a drop-in names the drop-in: nothing is partially accepted', async () => {
    tree.write(tree.systemPath, mirrored('a.local', 'fine.local'));
    const dropIn = tree.write(join(tree.userDir, '99.conf'), registry('https://b.local'));
    const config = tree.config();
    expect((await configError(config.pullSources(parseDockerReference('a.local/x:1')))).message)
      .to.include(dropIn)
      .and.include('URI schemes');
  });

  it('an unreadable file is an error naming it: a directory where the file should be', async () => {
    mkdirSync(tree.systemPath, { recursive: true });
    expect((await configError(tree.config().credentialHelpers())).message)
      .to.include(tree.systemPath)
      .and.include('EISDIR');
  });

  it('reads the files once', async () => {
    tree.write(tree.systemPath, mirrored('a.local', 'first.local'));
    const config = tree.config();
    expect(await sourcesOf(config, 'a.local/x')).to.deep.equal(['first.local/x:latest', 'a.local/x:latest']);
    tree.write(tree.systemPath, mirrored('a.local', 'second.local'));
    expect(await sourcesOf(config, 'a.local/x')).to.deep.equal(['first.local/x:latest', 'a.local/x:latest']);
  });
});
