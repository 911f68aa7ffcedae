// engine-sarif-check.js SCHEMA SARIF - validate a SARIF log against the
// SARIF 2.1.0 JSON schema (draft-04) with ajv 6; prints the errors and
// exits 1 when the log is not valid.
'use strict';
const fs = require('fs');
const path = require('path');
const [schemaPath, sarifPath, modules] = process.argv.slice(2);
const Ajv = require(path.join(modules, 'ajv'));
const draft4 = require(path.join(modules, 'ajv/lib/refs/json-schema-draft-04.json'));
const ajv = new Ajv({ schemaId: 'auto', allErrors: true, format: 'full' });
ajv.addMetaSchema(draft4);
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
const log = JSON.parse(fs.readFileSync(sarifPath, 'utf8'));
const validate = ajv.compile(schema);
if (!validate(log)) {
  for (const e of validate.errors.slice(0, 20))
    console.log(`${e.dataPath || '/'}: ${e.message}`);
  process.exit(1);
}
console.log(`valid: ${log.runs[0].results.length} results`);
