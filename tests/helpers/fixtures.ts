// Where the oracle fixtures live: tests/fixtures/nemotron-h-tiny/ (its README.md gives their
// provenance and tolerances), carried in the repository so a clone tests on its own.

import { fileURLToPath } from 'node:url';

/**
 * Absolute path of tests/fixtures/nemotron-h-tiny/, with the trailing slash.
 * @example JSON.parse(readFileSync(`${FIXTURES}fixture.json`, 'utf8')).tokens
 */
export const FIXTURES = fileURLToPath(new URL('../fixtures/nemotron-h-tiny/', import.meta.url));

/**
 * Absolute path of the UCI data sets the package ships (assets/data/uci/), with the trailing slash.
 * @example readFileSync(`${UCI}iris.csv`, 'utf8')
 */
export const UCI = fileURLToPath(new URL('../../assets/data/uci/', import.meta.url));
