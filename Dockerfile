# The generators' image (terraform/modules/generators runs it on Azure Container Instances):
# `playground` with the locked dependencies and the Azure, SQL Server and Kafka extras.
#   docker build -t <registry>/data-playground:0.1.0 . && docker push <registry>/data-playground:0.1.0
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first (a layer that changes only with the lock file), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --extra azure --extra mssql --extra kafka
COPY generators ./generators
COPY dagster_project ./dagster_project
RUN uv sync --frozen --no-dev --no-editable --extra azure --extra mssql --extra kafka

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 playground
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH
USER playground
WORKDIR /home/playground
ENTRYPOINT ["playground"]
CMD ["--help"]
