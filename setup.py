"""Build the optional compiled order book (`agents.exchange.book_native`).

Everything else is in ``pyproject.toml``. The extension is optional: where it
cannot be compiled (no C++ compiler, say), the install goes on with a warning
and venues use the pure-Python book, which gives the same results.
"""

import os

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
            print(f"WARNING: the compiled order book was not built ({exc}); the pure-Python book will be used")
            self.extensions = []  # so that nothing is copied or installed


setup(
    ext_modules=cythonize(
        [Extension("agents.exchange.book_native", ["agents/exchange/book_native.pyx"], language="c++",
                   extra_compile_args=["-O2"])],
    ),
    cmdclass={"build_ext": OptionalBuildExt},
)
