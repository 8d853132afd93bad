// `node:assert/strict` for a test file bundled into a browser page: the `assert` package (Node's
// assert for bundlers), in its strict mode. knip.json lists `assert` in ignoreDependencies:
// knip takes the bare name for Node's builtin and would call the devDependency unused.
import { strict } from 'assert'

export default strict
