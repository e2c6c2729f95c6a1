"""Build the optional C accelerator ``ninja_redis.php._speedups``.

Everything else is configured in pyproject.toml. Without a C compiler (or with
``NINJA_REDIS_PURE_INSTALL=1``) the install still succeeds and ``ninja_redis.php``
uses its pure-Python implementation.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when the extension cannot build."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        sys.stderr.write(
            "WARNING: the C accelerator ninja_redis.php._speedups could not be "
            f"built ({exc}); the pure-Python implementation will be used.\n"
        )


ext_modules = []
if os.environ.get("NINJA_REDIS_PURE_INSTALL", "") in ("", "0"):
    ext_modules.append(
        Extension(
            "ninja_redis.php._speedups",
            sources=["ninja_redis/php/_speedups.c"],
            optional=True,
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
