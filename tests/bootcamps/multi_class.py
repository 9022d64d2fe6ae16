from bootcamp.base import Basebootcamp


class Firstbootcamp(Basebootcamp):
    def case_generator(self):
        return {"which": "first"}

    @staticmethod
    def prompt_func(identity):
        return "first"


class Secondbootcamp(Basebootcamp):
    def case_generator(self):
        return {"which": "second"}

    @staticmethod
    def prompt_func(identity):
        return "second"
