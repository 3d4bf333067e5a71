"""Rule packs: YAML text in, compiled rules (or every located problem) out.

Owns reading strict YAML with line numbers (`yamlio`, with its two loaders in
`yamlloaders` and the wording of syntax errors in `yamlsyntax`), checking a document
against the published JSON Schemas in `engine/schema/` (`schemacheck`, answered
quickly by `schemafit` when the document fits), compiling each rule once (`compile`:
regexes by `regexcheck`, conditions by `expr`, texts by `template`) into the typed
rules of `rule`, and finding pack files on disk (`loader`). Only `loader` and the
`read` functions of `yamlio` touch the file system; the rest parses strings.

May import: model, errors, vocabulary, durations, places
"""
