// Package solid tests the enforcer end to end: a real Community Solid Server (CSS) runs behind
// the enforcer with the path resolver, and PostgreSQL stores the usage and quota rows. The tests
// compare the usage rows with the storage that CSS stores after each step. They need Node.js for
// CSS and DATABASE_URL for PostgreSQL, and are skipped only when Node.js is missing.
package solid
