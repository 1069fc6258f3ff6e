"""Checks for the lessons' exercises: each says what is right, or what is wrong and why.

A check takes the student's function (or value), runs it on cases with known answers and returns a
`CheckResult`. It never raises for a wrong answer, so an unfinished exercise does not stop the notebook;
the solution cells use `assert result.ok, result.message` to hold the solutions to the same checks.
"""
from . import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08, lesson09, lesson10, lesson11
from .verdict import CheckResult, call, compare_tensor, failed, passed
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
