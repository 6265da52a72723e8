# Flex Template image for `tickbeam daily` on Dataflow: the monitor's image
# (deploy/dataflow/Dockerfile) with the daily subcommand as its default.
#
#   docker build -f deploy/dataflow/daily.Dockerfile \
#     --build-arg MONITOR_IMAGE=REGION-docker.pkg.dev/PROJECT/REPO/tickbeam-monitor \
#     -t REGION-docker.pkg.dev/PROJECT/REPO/tickbeam-daily deploy/dataflow
ARG MONITOR_IMAGE
FROM ${MONITOR_IMAGE}
ENV TICKBEAM_DEFAULT_ARGS="daily --runner=dataflow"
