"""Checks for the lessons' exercises: each says what is right, or what is wrong and why.

A check takes the student's function (or value), runs it on cases with known answers and returns a
`CheckResult`. It never raises for a wrong answer, so an unfinished exercise does not stop the notebook;
the solution cells use `assert result.ok, result.message` to hold the solutions to the same checks.
"""
from ..i18n import tr
from . import lesson00, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08, lesson09, lesson10, lesson11
from .verdict import CheckResult, Question, call, call_own, compare_tensor, failed, forbidding, passed
from .lesson00 import check_reverse_kl
from .lesson01 import check_sample_exponential, check_uniform_generator
from .lesson02 import check_conv_transpose_size, check_generator
from .lesson03 import check_d_loss, check_optimal_discriminator
from .lesson04 import check_jsd, check_nonsaturating_loss, check_value_function
from .lesson05 import check_d_step, check_g_step
from .lesson06 import check_conv_output_size, check_dcgan_init
from .lesson07 import check_alternating_step, check_gda_eigenvalues, check_r1_eigenvalues
from .lesson08 import check_ema_update, check_hinge_d_loss, check_weight_clipping
from .lesson09 import check_concat_condition, check_projection_logit
from .lesson10 import check_classifier_score, check_frechet_distance
from .lesson11 import check_paired_difference, check_pix2pix_loss


_LESSONS = (lesson00, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08, lesson09,
            lesson10, lesson11)
# Every lesson's predict-then-run and "why" questions, by "NN.name" (NN: the lesson's number).
QUESTIONS: dict[str, Question] = {f"{module.__name__[-2:]}.{name}": question
                                  for module in _LESSONS for name, question in getattr(module, "QUESTIONS", {}).items()}


def answer(question: str, given) -> CheckResult:
    """The verdict on your answer to a lesson's question, e.g. `answer("04.saturation", "b")`."""
    if question not in QUESTIONS:
        return failed(tr("question={question!r} is not one of the lessons' questions: {known}", question=question,
                         known=", ".join(sorted(QUESTIONS))))
    return QUESTIONS[question].check(given)
