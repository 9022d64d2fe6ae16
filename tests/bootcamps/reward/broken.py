"""A bootcamp file that cannot load: its items fail alone."""
from bootcamp import Basebootcamp

raise ImportError("this bootcamp needs a module the sandbox does not have")


class Brokenbootcamp(Basebootcamp):
    pass
