"""Which files the package holds (pyproject.toml says the rest).

Here rather than in pyproject.toml for one thing it cannot say: the repository's `rules/`
folder (the default packs and their tests) ships inside the package as `engine/rules/`, so
that an installed tool has them while the repository keeps them where its docs, tests and
editors expect them. No top-level `rules` package is installed (another project's name).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["engine", "engine.*"]), "engine.rules", "engine.rules.tests"],
    package_dir={"engine.rules": "rules"},
    package_data={
        "engine": ["py.typed", "schema/*.json", "demo/*.yaml", "supervise/presets/*.yaml",
                   "templates/*.yaml",
                   "web/static/*", "web/static/**/*"],
        "engine.rules": ["*.yaml"],
        "engine.rules.tests": ["*.yaml"],
    },
)  # fmt: skip
