"""What pyproject.toml cannot say: a wheel that carries the compiled write path is specific to
its platform and Python (its extension modules are package data, see src/footfall/compiled.py),
so it is tagged as such instead of `py3-none-any`. Without them the wheel stays pure Python."""

from pathlib import Path

from setuptools import setup
from setuptools.dist import Distribution

PACKAGE = Path(__file__).resolve().parent / "src" / "footfall"


class FootfallDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return any(PACKAGE.glob("hot_path__mypyc.*"))


setup(distclass=FootfallDistribution)
