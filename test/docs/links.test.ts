import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../support/spawn-proxy.js';

/**
 * The documents a reader moves between: README.md, docs/*.md and bench/README.md. Every
 * relative link must reach a file, and every #anchor a heading of the file it names (as GitHub
 * makes anchors), so a renamed heading or a moved file is caught here, not by a reader.
 */
const DOCUMENTS = [
  'README.md',
  'bench/README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** README is for users and stays short; the topics live in docs/. */
const README_MAX_LINES = 300;

interface Link {
  readonly from: string;
  readonly line: number;
  readonly target: string;
}

/** Markdown links outside code: `[text](target)`, the target without a title. */
function linksIn(document: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  readFileSync(join(REPO_ROOT, document), 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^\s*```/.test(text)) fenced = !fenced;
      if (fenced) return;
      const outsideCode = text.replace(/`[^`]*`/g, '');
      for (const match of outsideCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push({ from: document, line: index + 1, target: match[1]! });
    });
  return links;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*```/.test(text)) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Text files under a directory (or the file itself), skipping build output and dependencies. */
function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'target' || entry.name.startsWith('.')) return [];
    const child = join(path, entry.name);
    if (entry.isDirectory()) return filesUnder(child);
    return /\.(ts|mts|cts|js|mjs|cjs|py|rs|md|json|toml|yaml|yml|sh|txt)$/.test(entry.name) ? [child] : [];
  });
}

function problemWith(link: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined; // https:, mailto:, …
  const [path = '', anchor] = link.target.split('#', 2);
  const file = path === '' ? join(REPO_ROOT, link.from) : join(REPO_ROOT, dirname(link.from), decodeURIComponent(path));
  if (
    !relative(REPO_ROOT, file)
      .split('/')
      .every((part) => part !== '..')
  )
    return 'points outside the repository';
  if (!existsSync(file)) return `${relative(REPO_ROOT, file)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `#${anchor} on a file that is not markdown`;
  return anchorsOf(file).has(anchor) ? undefined : `${relative(REPO_ROOT, file)} has no heading for #${anchor}`;
}

describe('documentation links', () => {
  it('every relative link in README.md, docs/ and bench/README.md reaches a file and a heading', () => {
    const links = DOCUMENTS.flatMap(linksIn);
    expect(links.length, 'links found').to.be.greaterThan(20);
    const broken = links.flatMap((link) => {
      const problem = problemWith(link);
      return problem === undefined ? [] : [`${link.from}:${link.line}: (${link.target}) ${problem}`];
    });
    expect(broken).to.deep.equal([]);
  });

  it('every repository path the documents name in code spans exists (src/, test/, bench/, scripts/, examples/, clients/, docs/)', () => {
    const missing = DOCUMENTS.flatMap((document) =>
      readFileSync(join(REPO_ROOT, document), 'utf8')
        .split('\n')
        .flatMap((text, index) =>
          [...text.matchAll(/`((?:src|test|bench|scripts|examples|clients|docs)\/[^`\s*]*)`/g)]
            .map((match) => match[1]!.replace(/\/$/, ''))
            .filter((path) => !existsSync(join(REPO_ROOT, path)))
            .map((path) => `${document}:${index + 1}: ${path}`),
        ),
    );
    expect(missing).to.deep.equal([]);
  });

  it('README reaches every topic in docs/ in one link', () => {
    const fromReadme = new Set(linksIn('README.md').map((link) => link.target.split('#')[0]));
    const topics = DOCUMENTS.filter((document) => document.startsWith('docs/'));
    expect(topics.filter((topic) => !fromReadme.has(topic))).to.deep.equal([]);
  });

  it('no history in the documents or the code: no issue numbers, no word of what the project began from', () => {
    // Built from parts, so this file does not match itself.
    const history = new RegExp(['iss' + 'ue [0-9]+', 'the se' + 'ed'].join('|'), 'i');
    const found = ['README.md', 'docs', 'bench', 'src', 'test']
      .flatMap((root) => filesUnder(join(REPO_ROOT, root)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((text, index) => (history.test(text) ? [`${relative(REPO_ROOT, file)}:${index + 1}: ${text.trim()}`] : [])),
      );
    expect(found).to.deep.equal([]);
  });

  it(`README stays under ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').split('\n').length;
    expect(lines).to.be.lessThan(README_MAX_LINES);
  });

  it('the anchor rule follows GitHub: punctuation dropped, spaces to hyphens, repeats numbered', () => {
    const path = join(REPO_ROOT, 'docs', 'configuration.md');
    const anchors = anchorsOf(path);
    expect(anchors.has('registriesconf-mirrors-insecure-and-blocked-registries')).to.equal(true);
    expect(problemWith({ from: 'README.md', line: 1, target: 'docs/configuration.md#no-such-heading' })).to.match(/no heading for #no-such-heading/);
    expect(problemWith({ from: 'README.md', line: 1, target: 'docs/missing.md' })).to.match(/does not exist/);
  });
});
