// Checks the app's catalogues: every key in every language, and every plural entry with the forms
// its language needs (Intl.PluralRules). Prints one line per problem; exits 1 when there is any.
// Also lists, with --used, keys used in the sources (t('…')) that no catalogue defines.
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'src');
const { catalogues } = await import(join(source, 'locales', 'index.js'));
const languages = ['en', 'ru', 'kk'];
const problems = [];
const all = new Set();
for (const catalogue of catalogues) for (const language of languages) for (const key of Object.keys(catalogue[language] || {})) all.add(key);
for (const [index, catalogue] of catalogues.entries()) {
    const keys = new Set(languages.flatMap((language) => Object.keys(catalogue[language] || {})));
    for (const key of keys) {
        for (const language of languages) {
            const entry = (catalogue[language] || {})[key];
            if (entry === undefined) { problems.push(`catalogue ${index}: "${key}" is missing in ${language}`); continue; }
            if (typeof entry === 'string') { if (!entry.trim()) problems.push(`"${key}" is empty in ${language}`); continue; }
            const needed = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
            for (const form of needed) if (typeof entry[form] !== 'string') problems.push(`"${key}" in ${language} lacks the plural form "${form}"`);
        }
    }
}
// Keys the sources use literally: t('key' …).
function walk(directory) {
    return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)]);
}
for (const file of walk(source).filter((f) => f.endsWith('.js') && !f.includes(`${join('src', 'locales')}`))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\bt\('([a-z0-9_.]+)'/g)) {
        if (!all.has(match[1])) problems.push(`${file.slice(source.length + 1)} uses "${match[1]}", which no catalogue defines`);
    }
}
for (const problem of problems) console.log(problem);
process.exit(problems.length ? 1 : 0);
