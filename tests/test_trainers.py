"""Which Python process the training's exit is about (`Trainers`), from the probe's words."""

from __future__ import annotations

from engine.supervise.trainers import Trainers


def _hello(trainers: Trainers, t: float, pid: int, program: str) -> None:
    trainers.hello(t, {"event": "hello", "pid": pid, "argv": [f"/root/rl-swarm/{program}"]})


def test_no_probe_no_trainer() -> None:
    assert Trainers().exit_fields(10.0) == {"trainer": "", "trainer_code": None}


def test_the_last_to_fail_is_the_trainer_not_the_launchers_pip() -> None:
    trainers = Trainers()
    _hello(trainers, 0.0, 10, "pip")
    trainers.bye(5.0, {"pid": 10, "code": 0})
    _hello(trainers, 6.0, 11, "swarm_launcher.py")
    _hello(trainers, 9.0, 12, "worker.py")
    trainers.bye(100.0, {"pid": 11, "code": 1})
    fields = trainers.exit_fields(101.0)
    assert fields == {"trainer": "pid 11, swarm_launcher.py", "trainer_code": 1}


def test_without_a_failure_the_longest_lived_and_a_killed_one_has_no_status() -> None:
    trainers = Trainers()
    _hello(trainers, 0.0, 10, "pip")
    trainers.bye(5.0, {"pid": 10, "code": 0})
    _hello(trainers, 6.0, 11, "train.py")  # killed: never says goodbye
    _hello(trainers, 7.0, 12, "worker.py")
    trainers.bye(8.0, {"pid": 12, "code": 0})
    assert trainers.exit_fields(60.0) == {"trainer": "pid 11, train.py", "trainer_code": None}


def test_each_exit_forgets_the_attempts_processes_and_strangers_are_ignored() -> None:
    trainers = Trainers()
    _hello(trainers, 0.0, 11, "train.py")
    trainers.bye(1.0, {"pid": 99, "code": 3})  # a forked child that never said hello
    trainers.bye(2.0, {"pid": 11, "code": 0})
    trainers.bye(3.0, {"pid": 11, "code": 7})  # a second goodbye changes nothing
    assert trainers.exit_fields(4.0) == {"trainer": "pid 11, train.py", "trainer_code": 0}
    assert trainers.exit_fields(5.0) == {"trainer": "", "trainer_code": None}
