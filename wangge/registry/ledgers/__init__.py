"""Excel ledgers (台账) of the registry: the template, the streaming import of households,
residents and enterprises (a dry run that lists every bad cell, then all-or-nothing) and the
masked export.

- `sheets`: the sheets and their columns, cell parsing, reading workbooks, the template;
- `importer`: validating and writing rows in batches (one transaction for a whole file);
- `exporter`: writing a scope's ledgers, masked unless revealed with a reason (audited);
- `jobs`: an import's state between the upload, the dry run, the import and the page polling it.
"""
