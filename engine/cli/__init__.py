"""The command line, `rlswarm-rules COMMAND`: `main` lists the commands, one module per topic.

Commands parse options, call one library function and map its result to an exit code.

May import: model, errors, vocabulary, durations, places, nodeinit, packs, match, core, logs,
    authoring, notify, supervise, web, doctor, probe, demo, service
"""
