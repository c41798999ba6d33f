from hall_common.migrate import run_env
from services.payment import interest_models  # noqa: F401  (its table on the same metadata)
from services.payment.models import Base

run_env(Base.metadata)
