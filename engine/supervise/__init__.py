"""`run` and `watch`: supervising a training (or following logs) while the rules watch it.

The flow, one way: `sources/` (the child's output pump, tailed files, the probe's
socket, the sampler) post to the `pipeline`, whose one thread feeds the core and hands
notifying decisions to delivery and actions to the `supervisor`, which starts, stops
and restarts the child and everything it starts (`sources.reaper`: `run` is the child
subreaper on Linux). `wiring` builds and attaches those parts (terminal, pipeline,
delivery, dashboard) and closes them at exit; `stopping` takes the signals and holds
the deadline they set, which every wait at exit honours; `session` runs a whole `run`
or `watch` from start to summary; `preset` holds a launcher's answers, kept files and
logs (built in: `presets/`).

Threads, by the module that starts them, and the clocks they read. `clock` is wall
time (`time.time`), the time on every observation; `monotonic` times waits. Each
takes its clock as a parameter where tests may want to drive it.

    main             `supervisor.Supervisor.run`: the supervision loop (monotonic: the
                     grace, keeping files, the back-off; `Child.kill_tree` too), then
                     `wiring.Stack.close`; for `watch`, `stopping.Stopping.wait_for_signal`
    signals          `stopping`: each signal, read from the wakeup pipe, told to the
                     supervisor (monotonic: the deadline it sets)
    closing          `stopping.Stopping.call`, one per wait a signal may cut short (the
                     pipeline's settle and stop, delivery's stop, the dashboard's close,
                     the setup's end); left running if it is cut short (monotonic)
    exit-PID         `supervisor`, one per child: wakes the loop when the child exits
    sampler          `supervisor`: the metrics every `interval` (clock); reaps what of
                     the child's tree died meanwhile
    stdin            `supervisor`: our stdin forwarded to the current child
    pump-PID         `sources.pump`, one per child: its output relayed (clock for the
                     chunks, monotonic for the rests)
    tailer           `sources.tail`: followed files (clock)
    probe-listener   `sources.probe`: the probe's messages (clock)
    pipeline         `pipeline`: the one thread that feeds the Engine (clock for ticks)
    setup            `wiring`: delivery and the dashboard attached while `run` starts
    warm-up          `wiring`: every pattern's search made (`Matcher.warm`), then it ends
    every            `session`: `watch`'s metrics every `interval` (clock)
    send-CHANNEL     `engine.notify.delivery` (started by `wiring`), one per channel (clock)
    dashboard        `engine.web.server` (started by `wiring`): the HTTP server; the
                     publisher it serves runs in the pipeline thread (monotonic)

May import: model, errors, vocabulary, durations, packs, match, core, logs, notify, web,
    probe
"""
