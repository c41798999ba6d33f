from hall_common.migrate import run_env
from services.employer.models import Base

run_env(Base.metadata)
