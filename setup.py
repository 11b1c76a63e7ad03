"""Build the optional compiled kernels listed in `agents.exchange.native`.

Everything else is in ``pyproject.toml``. The extension is optional: where it
cannot be compiled (no C++ compiler, say), the install goes on with a warning
and venues use the pure-Python kernels, which give the same results.
"""

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """`build_ext` that warns instead of failing when the extension does not compile.

    Set ``SQUEEZE_REQUIRE_NATIVE=1`` to make a failed build fail the install (CI does).
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # setuptools raises several kinds here, by version
            if os.environ.get("SQUEEZE_REQUIRE_NATIVE") == "1":
                raise
            print(f"WARNING: the compiled kernels were not built ({exc}); the pure-Python ones will be used")
            self.extensions = []  # so that nothing is copied or installed


setup(
    ext_modules=cythonize(
        # No floating-point contraction: a fused multiply-add rounds once, and results must
        # equal the pure-Python kernels' to the last bit.
        # Every *_native.pyx under agents/ and model/ (agents.exchange.native.MODULES names the same modules;
        # a test checks).
        # The C++ headers the .pxd files name (containers.h) are in agents/exchange.
        [Extension(".".join(pyx.with_suffix("").parts), [str(pyx)], language="c++",
                   include_dirs=[str(Path("agents", "exchange"))], extra_compile_args=["-O2", "-ffp-contract=off"])
         for package in ("agents", "model") for pyx in sorted(Path(package).rglob("*_native.pyx"))],
    ),
    cmdclass={"build_ext": OptionalBuildExt},
)
