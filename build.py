"""cffi builder for quaymaster's native core.

`pip install .` (and `pip install -e .`) runs this through setup.py's
`cffi_modules`, compiling every C file in csrc/ into the extension module
`quaymaster._native`. The declarations handed to cffi are read from the public
header csrc/quaymaster.h, between the CDEF markers, so the header is the one
place the C API is written down.
"""

from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"
HEADER = CSRC / "quaymaster.h"


def _cdef_from_header(text: str) -> str:
    """The part of the header between the CDEF markers, which has no macros."""
    start = text.index("/* CDEF BEGIN */") + len("/* CDEF BEGIN */")
    end = text.index("/* CDEF END */")
    return text[start:end]


ffibuilder = FFI()
ffibuilder.cdef(_cdef_from_header(HEADER.read_text()))
ffibuilder.set_source(
    "quaymaster._native",
    '#include "quaymaster.h"',
    # Relative paths: setuptools insists on them for sources.
    sources=sorted(str(p.relative_to(ROOT)) for p in CSRC.glob("*.c")),
    include_dirs=[str(CSRC.relative_to(ROOT))],
    extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build" / "cffi"), verbose=True)
