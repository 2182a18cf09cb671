import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isProxyError } from '../../../src/domain/errors.js';
import { parseDockerReference } from '../../../src/domain/reference.js';
import { RegistriesDirectory } from '../../../src/adapters/registries-d/registries-d.js';
import { parseRegistriesFile } from '../../../src/adapters/registries-d/registries-d-file.js';

describe('registries.d', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'registries-d-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = async (files: Record<string, string>, options: { isRoot?: boolean } = {}): Promise<RegistriesDirectory> => {
    const configDir = join(dir, 'registries.d');
    mkdirSync(configDir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(configDir, name), text);
    return RegistriesDirectory.load({ explicitDir: configDir, homeDir: join(dir, 'home'), isRoot: options.isRoot ?? false });
  };

  describe('lookup precedence (mirror reference → lookaside)', () => {
    const files = {
      'a.yaml': [
        'default-docker:',
        '  lookaside: https://default.example/sigs',
        'docker:',
        '  reg.example.com/ns/app:1:',
        '    lookaside: file:///exact',
        '  reg.example.com/ns/app:',
        '    lookaside: file:///repo',
        '    use-sigstore-attachments: true',
        '  reg.example.com/ns:',
        '    use-sigstore-attachments: false',
        '  reg.example.com:',
        '    sigstore: file:///host-deprecated-key',
        '  "*.example.com":',
        '    lookaside: file:///wildcard',
      ].join('\n'),
      'b.yaml': 'docker:\n  quay.io:\n    lookaside-staging: file:///staging-only\n',
      'ignored.yml': 'default-docker:\n  lookaside: file:///yml-is-not-read\n',
    };
    const cases: [string, string, string, boolean][] = [
      ['the exact identity first', 'reg.example.com/ns/app:1', 'file:///exact', true],
      ['then the repository', 'reg.example.com/ns/app:2', 'file:///repo', true],
      [
        'a section without the key falls through (lookaside from the host, attachments from the namespace)',
        'reg.example.com/ns/other:1',
        'file:///host-deprecated-key',
        false,
      ],
      ['the *. wildcard', 'other.example.com/x:1', 'file:///wildcard', false],
      ['a section with only a staging URL falls through to default-docker', 'quay.io/x/y:1', 'https://default.example/sigs', false],
      ['an untagged reference is looked up as :latest', 'reg.example.com/ns/app', 'file:///repo', true],
    ];
    for (const [why, reference, lookaside, attachments] of cases) {
      it(why, async () => {
        const storage = (await load(files)).storageFor(parseDockerReference(reference));
        expect(storage).to.deep.equal({ lookaside, useSigstoreAttachments: attachments });
      });
    }
    it('without any configuration: the built-in default for root and for users', async () => {
      const root = await load({}, { isRoot: true });
      expect(root.storageFor(parseDockerReference('quay.io/a:1')).lookaside).to.equal('file:///var/lib/containers/sigstore');
      const user = await load({});
      expect(user.storageFor(parseDockerReference('quay.io/a:1')).lookaside).to.equal(`file://${join(dir, 'home', '.local/share/containers/sigstore')}`);
    });
    it('a missing directory is an empty configuration', async () => {
      const registries = await RegistriesDirectory.load({ explicitDir: join(dir, 'absent'), homeDir: dir, isRoot: true });
      expect(registries.storageFor(parseDockerReference('quay.io/a:1'))).to.deep.equal({
        lookaside: 'file:///var/lib/containers/sigstore',
        useSigstoreAttachments: false,
      });
    });
    it('the per-user directory is used when it exists', async () => {
      const userDir = join(dir, 'home', '.config/containers/registries.d');
      mkdirSync(userDir, { recursive: true });
      writeFileSync(join(userDir, 'u.yaml'), 'default-docker:\n  lookaside: file:///from-user-dir\n');
      const registries = await RegistriesDirectory.load({ homeDir: join(dir, 'home'), isRoot: true });
      expect(registries.storageFor(parseDockerReference('quay.io/a:1')).lookaside).to.equal('file:///from-user-dir');
    });
  });

  describe('conflicts between files', () => {
    const cases: [string, Record<string, string>, string][] = [
      [
        'default-docker twice',
        { 'a.yaml': 'default-docker:\n  lookaside: file:///a\n', 'b.yaml': 'default-docker:\n  lookaside: file:///b\n' },
        '"default-docker" is defined both in',
      ],
      [
        'one namespace twice',
        { 'a.yaml': 'docker:\n  quay.io:\n    lookaside: file:///a\n', 'b.yaml': 'docker:\n  quay.io:\n    lookaside: file:///b\n' },
        'docker namespace "quay.io" is defined both in',
      ],
    ];
    for (const [why, files, message] of cases) {
      it(`rejects ${why}`, async () => {
        const error = await load(files).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isProxyError(error, 'policy-invalid'), String(error)).to.equal(true);
        expect((error as Error).message)
          .to.contain(message)
          .and.to.contain('a.yaml')
          .and.to.contain('b.yaml');
      });
    }
  });

  describe('malformed files', () => {
    const cases: [string, string, string][] = [
      ['invalid YAML', 'docker: [unclosed', 'invalid YAML'],
      ['a duplicate key', 'docker:\n  quay.io:\n    lookaside: file:///a\n  quay.io:\n    lookaside: file:///b\n', 'invalid YAML'],
      ['a list at the top', '- a\n- b\n', 'top level must be a mapping'],
      ['docker as a list', 'docker:\n  - quay.io\n', '"docker" must be a mapping'],
      ['a section that is a string', 'docker:\n  quay.io: file:///x\n', 'docker.quay.io must be a mapping'],
      ['a numeric lookaside', 'default-docker:\n  lookaside: 5\n', 'lookaside must be a string'],
      ['a non-boolean use-sigstore-attachments', 'default-docker:\n  use-sigstore-attachments: "yes"\n', 'must be true or false'],
      ['a lookaside that is not a URL', 'default-docker:\n  lookaside: "not a url"\n', 'is not a URL'],
      // Found by the property tests: the yaml package throws ReferenceError for these while building values.
      ['an alias to an anchor never set', 'docker:\n  a.example: *nowhere\n', 'invalid YAML: Unresolved alias'],
      [
        'an alias bomb',
        `a: &a [x, x, x, x, x, x, x, x, x, x]\n${[...'bcdefghij'].map((k, i) => `${k}: &${k} [${`*${'abcdefghij'[i]}, `.repeat(10)}]`).join('\n')}\n`,
        'invalid YAML: Excessive alias count',
      ],
    ];
    for (const [why, text, message] of cases) {
      it(`rejects ${why}, naming the file`, () => {
        expect(() => parseRegistriesFile(text, '/etc/containers/registries.d/x.yaml'))
          .to.throw(message)
          .that.satisfies((err: Error) => isProxyError(err, 'policy-invalid') && err.message.includes('/etc/containers/registries.d/x.yaml'));
      });
    }
    it('ignores keys it does not use, as containers/image does', () => {
      const parsed = parseRegistriesFile('other-tool: 1\ndefault-docker:\n  lookaside: file:///a\n  colour: blue\n', 'x.yaml');
      expect(parsed.defaultDocker).to.deep.include({ lookaside: 'file:///a' });
    });
    it('an empty file is an empty configuration', () => {
      expect(parseRegistriesFile('', 'x.yaml').docker.size).to.equal(0);
    });
  });
});
