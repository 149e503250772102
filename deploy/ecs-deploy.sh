#!/usr/bin/env bash
# Builds, pushes and deploys Narcis to ECS; deploy/Makefile is its front door (make -C deploy help) and
# docs/operations.md ("Deploying") the operator's guide.
#
#   ecs-deploy.sh build | push | migrate | deploy SERVICE | deploy-all | rollback SERVICE [RELEASE] | release
#
# SERVICE is one of web, worker, bot, metrics, webhooks. All but worker run the web image.
# A release is what deploy-all verified: an SSM parameter /<cluster>/releases/<TAG> holds its task
# definition ARNs (and the release before it); /<cluster>/releases/current names the latest.
#
# Environment:
#   TAG          the image tag (the Makefile passes the git short SHA, "-dirty" appended on a dirty tree)
#   DRY_RUN=1    print every command ("+ " on stderr) and run none of the aws/docker ones; the script's own
#                logic still runs on placeholder answers (a task definition at revision 42, its ARNs)
#   ALLOW_DIRTY=1  build from a work tree with uncommitted changes
#   PLATFORM     docker buildx --platform (linux/amd64)
#   Names, each overriding the Terraform output of deploy/terraform/envs/prod (TF_DIR) it comes from:
#   CLUSTER (cluster_name), REGION (region), ECR_WEB / ECR_WORKER (ecr_repository_urls),
#   SUBNETS (private_subnet_ids, comma-separated), SECURITY_GROUPS (migrate_security_group_ids),
#   ECR_CACHE (ecr_build_cache_url: the registry cache of the image layers),
#   SERVICE_WEB ... SERVICE_METRICS (service_names), FAMILY_WEB ... FAMILY_METRICS
#   (task_definition_families), SCHEDULES (scheduled_task_schedule_names, comma-separated: the
#   EventBridge schedules that run the web task definition). Terraform is read only when one of the first
#   six is unset; services and families not found there are <cluster>-<service>, schedules
#   <cluster>-sweep-faces,<cluster>-purge-guest-sessions. In DRY_RUN without an initialised TF_DIR the
#   placeholders are: cluster narcis-prod, region eu-west-1, registry
#   123456789012.dkr.ecr.<region>.amazonaws.com/narcis-prod-web|worker, subnets subnet-placeholder-a,b,
#   security group sg-placeholder-migrate.
#   DEPLOY_WORKDIR  where the task definitions to register are written (a temporary folder, removed at exit)
#   WAIT_ROUNDS  how many times an aws ecs waiter (10 minutes each) is retried (3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SERVICES=(web worker bot metrics webhooks)
DEPLOY_ORDER=(web metrics webhooks bot worker) # deploy-all, after migrate: the web first, the GPU workers last
TF_DIR=${TF_DIR:-deploy/terraform/envs/prod}
PLATFORM=${PLATFORM:-linux/amd64}
WAIT_ROUNDS=${WAIT_ROUNDS:-3}
PLACEHOLDER_ACCOUNT=123456789012
PLACEHOLDER_REVISION=42

is_dry() { [[ -n ${DRY_RUN:-} && ${DRY_RUN:-} != 0 ]]; }
note() { printf '# %s\n' "$*" >&2; }
die() {
	printf 'ecs-deploy: %s\n' "$*" >&2
	exit 1
}

# Shell-quotes a command so that the printed line can be pasted back into a shell.
quote() {
	local out=() arg
	for arg in "$@"; do
		if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
			out+=("$arg")
		else
			out+=("'${arg//\'/\'\\\'\'}'")
		fi
	done
	printf '%s' "${out[*]}"
}
show() { printf '+ %s\n' "$(quote "$@")" >&2; }

# run CMD...: print it, and run it unless DRY_RUN.
run() {
	show "$@"
	is_dry || "$@"
}

# capture PLACEHOLDER CMD...: print CMD and write its output, or in DRY_RUN the placeholder instead.
capture() {
	local placeholder=$1
	shift
	show "$@"
	if is_dry; then
		printf '%s\n' "$placeholder"
	else
		"$@"
	fi
}

# An aws ecs waiter gives up after 10 minutes; a long migration or a slow GPU rollout gets WAIT_ROUNDS.
wait_for() {
	local round
	for ((round = 1; round <= WAIT_ROUNDS; round++)); do
		if run aws ecs wait "$@"; then
			return 0
		fi
		note "still waiting ($round/$WAIT_ROUNDS)"
	done
	return 1
}

# --- names -------------------------------------------------------------------------------------------

upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

load_names() {
	local tf='{}' missing=() var
	for var in CLUSTER REGION ECR_WEB ECR_WORKER SUBNETS SECURITY_GROUPS; do
		[[ -n ${!var:-} ]] || missing+=("$var")
	done
	if ((${#missing[@]})); then
		if is_dry && [[ ! -d $TF_DIR/.terraform ]]; then
			note "no initialised Terraform in $TF_DIR: placeholder names for ${missing[*]} (DRY_RUN)"
		else
			show terraform -chdir="$TF_DIR" output -json
			tf=$(terraform -chdir="$TF_DIR" output -json) ||
				die "cannot read the Terraform outputs of $TF_DIR (terraform init there, or set ${missing[*]})"
		fi
	fi
	tfv() { jq -r "$1 // empty | if type == \"array\" then join(\",\") else . end" <<<"$tf"; }

	REGION=${REGION:-$(tfv .region.value)}
	CLUSTER=${CLUSTER:-$(tfv .cluster_name.value)}
	ECR_WEB=${ECR_WEB:-$(tfv .ecr_repository_urls.value.web)}
	ECR_WORKER=${ECR_WORKER:-$(tfv .ecr_repository_urls.value.worker)}
	SUBNETS=${SUBNETS:-$(tfv .private_subnet_ids.value)}
	SECURITY_GROUPS=${SECURITY_GROUPS:-$(tfv .migrate_security_group_ids.value)}
	SCHEDULES=${SCHEDULES:-$(tfv .scheduled_task_schedule_names.value)}
	ECR_CACHE=${ECR_CACHE:-$(tfv .ecr_build_cache_url.value)}
	if is_dry; then
		REGION=${REGION:-eu-west-1}
		CLUSTER=${CLUSTER:-narcis-prod}
		ECR_WEB=${ECR_WEB:-$PLACEHOLDER_ACCOUNT.dkr.ecr.$REGION.amazonaws.com/narcis-prod-web}
		ECR_WORKER=${ECR_WORKER:-$PLACEHOLDER_ACCOUNT.dkr.ecr.$REGION.amazonaws.com/narcis-prod-worker}
		SUBNETS=${SUBNETS:-subnet-placeholder-a,subnet-placeholder-b}
		SECURITY_GROUPS=${SECURITY_GROUPS:-sg-placeholder-migrate}
	fi
	missing=()
	for var in CLUSTER REGION ECR_WEB ECR_WORKER SUBNETS SECURITY_GROUPS; do
		[[ -n ${!var:-} ]] || missing+=("$var")
	done
	((${#missing[@]} == 0)) || die "no value for ${missing[*]} (neither the environment nor Terraform gave one)"
	SCHEDULES=${SCHEDULES:-$CLUSTER-sweep-faces,$CLUSTER-purge-guest-sessions}
	ECR_CACHE=${ECR_CACHE:-${ECR_WEB%/*}/$CLUSTER-build-cache}
	RELEASES=/$CLUSTER/releases

	local service up
	for service in "${SERVICES[@]}"; do
		up=$(upper "$service")
		var=SERVICE_$up
		printf -v "$var" '%s' "${!var:-$(tfv ".service_names.value.$service")}"
		printf -v "$var" '%s' "${!var:-$CLUSTER-$service}"
		var=FAMILY_$up
		printf -v "$var" '%s' "${!var:-$(tfv ".task_definition_families.value.$service")}"
		printf -v "$var" '%s' "${!var:-$CLUSTER-$service}"
	done
}

check_service() {
	local service
	for service in "${SERVICES[@]}"; do
		[[ ${1:-} == "$service" ]] && return 0
	done
	die "unknown SERVICE '${1:-}': it must be one of ${SERVICES[*]} (e.g. make deploy SERVICE=web)"
}

service_name() {
	local var
	var=SERVICE_$(upper "$1")
	printf '%s' "${!var}"
}
family_of() {
	local var
	var=FAMILY_$(upper "$1")
	printf '%s' "${!var}"
}
repo_of() { if [[ $1 == worker ]]; then printf '%s' "$ECR_WORKER"; else printf '%s' "$ECR_WEB"; fi; }

require_tag() {
	[[ -n ${TAG:-} ]] || die "TAG is empty (the Makefile sets it to the git short SHA)"
	[[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "TAG '$TAG' is not a valid image tag"
}

# --- build and push ----------------------------------------------------------------------------------

check_clean() {
	if [[ -n $(git status --porcelain) ]]; then
		if [[ ${ALLOW_DIRTY:-} == 1 ]]; then
			note "warning: building uncommitted changes as $TAG (ALLOW_DIRTY=1)"
		else
			git status --short >&2
			die "the work tree has uncommitted changes: commit or stash them first (or ALLOW_DIRTY=1)"
		fi
	fi
}

cmd_build() {
	require_tag
	check_clean
	local image revision
	revision=$(git rev-parse HEAD)
	# The layers' cache lives in ECR (a mutable repository of its own: the image repositories' tags are
	# immutable), so an unchanged dependency layer is never rebuilt, whichever machine builds.
	for image in web worker; do
		run docker buildx build --platform "$PLATFORM" --file "deploy/docker/$image.Dockerfile" \
			--cache-from "type=registry,ref=$ECR_CACHE:$image" \
			--cache-to "type=registry,ref=$ECR_CACHE:$image,mode=max,image-manifest=true,oci-mediatypes=true" \
			--tag "$(repo_of "$image"):$TAG" --label "org.opencontainers.image.revision=$revision" --load .
	done
}

cmd_push() {
	require_tag
	local host hosts=()
	for host in "${ECR_WEB%%/*}" "${ECR_WORKER%%/*}"; do
		[[ " ${hosts[*]} " == *" $host "* ]] || hosts+=("$host")
	done
	for host in "${hosts[@]}"; do
		# The password goes through the pipe only: never an argument, never printed.
		printf '+ %s | %s\n' "$(quote aws ecr get-login-password --region "$REGION")" \
			"$(quote docker login --username AWS --password-stdin "$host")" >&2
		if ! is_dry; then
			aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$host"
		fi
	done
	run docker push "$ECR_WEB:$TAG"
	run docker push "$ECR_WORKER:$TAG"
}

# --- task definitions --------------------------------------------------------------------------------

# The image of a service must be in ECR before a task definition points at it.
require_pushed() {
	local repo=$1
	capture "sha256:placeholder" aws ecr describe-images --region "$REGION" --repository-name "${repo#*/}" \
		--image-ids "imageTag=$TAG" --query 'imageDetails[0].imageDigest' --output text >/dev/null ||
		die "$repo:$TAG is not in ECR: make build push first"
}

placeholder_task_definition() {
	local service=$1 family=$2 repo=$3
	jq -n --arg region "$REGION" --arg account "$PLACEHOLDER_ACCOUNT" --arg family "$family" \
		--arg name "$service" --arg image "$repo:previous" --argjson revision "$PLACEHOLDER_REVISION" '{
		taskDefinitionArn: "arn:aws:ecs:\($region):\($account):task-definition/\($family):\($revision)",
		family: $family, revision: $revision, status: "ACTIVE", networkMode: "awsvpc",
		taskRoleArn: "arn:aws:iam::\($account):role/\($family)-task",
		executionRoleArn: "arn:aws:iam::\($account):role/\($family)-execution",
		containerDefinitions: [{name: $name, image: $image, essential: true,
			environment: [{name: "NARCIS_ENVIRONMENT", value: "prod"}],
			secrets: [{name: "SECRET_KEY", valueFrom: "arn:aws:secretsmanager:\($region):\($account):secret:narcis-prod/app"}]}],
		requiresAttributes: [{name: "com.amazonaws.ecs.capability.ecr-auth"}],
		compatibilities: ["EC2", "FARGATE"], requiresCompatibilities: ["FARGATE"], cpu: "1024", memory: "2048",
		registeredAt: "2026-01-01T00:00:00+00:00", registeredBy: "arn:aws:iam::\($account):role/placeholder"}'
}

# repository of an image reference (what is before :tag or @digest)
JQ_REPO='def repo: sub("@.*$"; "") | sub(":[^:/]*$"; "");'

# new_task_definition SERVICE: the family's latest revision with its containers of the service's image
# repository moved to TAG. Sets NEW_ARN, CONTAINER (the first such container) and REGISTERED (1 when
# this call registered NEW_ARN). A revision already on TAG is reused, so migrate and then deploy web
# register one revision.
new_task_definition() {
	local service=$1 family repo image current containers file placeholder
	family=$(family_of "$service")
	repo=$(repo_of "$service")
	image=$repo:$TAG
	current=$(capture "$(placeholder_task_definition "$service" "$family" "$repo")" \
		aws ecs describe-task-definition --region "$REGION" --task-definition "$family" \
		--query taskDefinition --output json)
	containers=$(jq -r --arg repo "$repo" "$JQ_REPO"'[.containerDefinitions[] | select(.image | repo == $repo)
		| .name] | join(",")' <<<"$current")
	[[ -n $containers ]] || die "no container of the task definition $family runs an image of $repo"
	CONTAINER=${containers%%,*}
	if jq -e --arg repo "$repo" --arg image "$image" "$JQ_REPO"'all(.containerDefinitions[]
		| select(.image | repo == $repo); .image == $image)' <<<"$current" >/dev/null; then
		NEW_ARN=$(jq -r .taskDefinitionArn <<<"$current")
		REGISTERED=0
		note "$family: $NEW_ARN already runs $image"
		return 0
	fi
	file=$WORKDIR/$family.json
	jq --arg repo "$repo" --arg image "$image" "$JQ_REPO"'
		del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
			.registeredAt, .registeredBy, .deregisteredAt)
		| .containerDefinitions |= map(if (.image | repo) == $repo then .image = $image else . end)' \
		<<<"$current" >"$file"
	note "$family: container(s) $containers -> $image"
	placeholder="arn:aws:ecs:$REGION:$PLACEHOLDER_ACCOUNT:task-definition/$family:$(($(jq .revision <<<"$current") + 1))"
	NEW_ARN=$(capture "$placeholder" aws ecs register-task-definition --region "$REGION" \
		--cli-input-json "file://$file" --query taskDefinition.taskDefinitionArn --output text)
	[[ $NEW_ARN == arn:* ]] || die "register-task-definition of $family returned '$NEW_ARN'"
	REGISTERED=1
}

# --- migrate, deploy, rollback -------------------------------------------------------------------------

cmd_migrate() {
	require_tag
	require_pushed "$ECR_WEB"
	new_task_definition web # the new release's code, hence its migrations
	local network overrides task result code reason
	network=$(jq -cn --arg subnets "$SUBNETS" --arg groups "$SECURITY_GROUPS" '{awsvpcConfiguration: {
		subnets: ($subnets | split(",")), securityGroups: ($groups | split(",")), assignPublicIp: "DISABLED"}}')
	overrides=$(jq -cn --arg name "$CONTAINER" \
		'{containerOverrides: [{name: $name, command: ["python", "manage.py", "migrate", "--noinput"]}]}')
	task=$(capture "arn:aws:ecs:$REGION:$PLACEHOLDER_ACCOUNT:task/$CLUSTER/0123456789abcdef0123456789abcdef" \
		aws ecs run-task --region "$REGION" --cluster "$CLUSTER" --launch-type FARGATE \
		--task-definition "$NEW_ARN" --network-configuration "$network" --overrides "$overrides" \
		--started-by narcis-migrate --query 'tasks[0].taskArn' --output text)
	[[ $task == arn:* ]] || die "MIGRATION NOT STARTED: run-task returned '$task'"
	wait_for tasks-stopped --region "$REGION" --cluster "$CLUSTER" --tasks "$task" ||
		die "MIGRATION DID NOT END: task $task is still running"
	result=$(capture '{"exitCode": 0, "stoppedReason": "Essential container in task exited"}' \
		aws ecs describe-tasks --region "$REGION" --cluster "$CLUSTER" --tasks "$task" \
		--query "tasks[0].{exitCode: containers[?name=='$CONTAINER'] | [0].exitCode, stoppedReason: stoppedReason}" \
		--output json)
	code=$(jq -r '.exitCode // "none"' <<<"$result")
	reason=$(jq -r '.stoppedReason // "unknown"' <<<"$result")
	if [[ $code != 0 ]]; then
		# Its revision must never run: not as "latest" in a scheduled task, nor as a rollback target.
		if ((REGISTERED)); then
			run aws ecs deregister-task-definition --region "$REGION" --task-definition "$NEW_ARN" \
				--query taskDefinition.status --output text >/dev/null
		fi
		die "MIGRATION FAILED: task $task, container $CONTAINER exit code $code ($reason); nothing was deployed. Its logs are in the web service's CloudWatch log group."
	fi
	note "migrations applied ($task)"
}

# stopped_reasons SERVICE_NAME ARN: why the stopped tasks of ARN in the service stopped, "; "-joined.
stopped_reasons() {
	local name=$1 arn=$2 tasks reasons
	tasks=$(capture "" aws ecs list-tasks --region "$REGION" --cluster "$CLUSTER" --service-name "$name" \
		--desired-status STOPPED --query taskArns --output text)
	read -r -a tasks <<<"${tasks//None/}"
	((${#tasks[@]})) || {
		printf 'no stopped task found'
		return 0
	}
	reasons=$(capture "[]" aws ecs describe-tasks --region "$REGION" --cluster "$CLUSTER" --tasks "${tasks[@]:0:100}" \
		--query "tasks[?taskDefinitionArn=='$arn'].stoppedReason" --output json)
	jq -r 'unique | if length == 0 then "no stopped task of this revision found" else join("; ") end' <<<"$reasons"
}

# rollout SERVICE ARN: wait, then require what the waiter cannot see. services-stable also passes once
# the circuit breaker has rolled a failed rollout back, so the primary deployment must be ARN and its
# rollout COMPLETED.
rollout() {
	local service=$1 arn=$2 name deployment primary state waited=0
	name=$(service_name "$service")
	wait_for services-stable --region "$REGION" --cluster "$CLUSTER" --services "$name" || waited=$?
	deployment=$(capture "$(jq -cn --arg arn "$arn" '{taskDefinition: $arn, rolloutState: "COMPLETED"}')" \
		aws ecs describe-services --region "$REGION" --cluster "$CLUSTER" --services "$name" \
		--query "services[0].deployments[?status=='PRIMARY'] | [0].{taskDefinition: taskDefinition, rolloutState: rolloutState, rolloutStateReason: rolloutStateReason}" \
		--output json)
	primary=$(jq -r '.taskDefinition // "none"' <<<"$deployment")
	state=$(jq -r '.rolloutState // "unknown"' <<<"$deployment")
	if ((waited == 0)) && [[ $primary == "$arn" && $state == COMPLETED ]]; then
		note "$name runs $arn (rollout COMPLETED)"
		return 0
	fi
	die "ROLLOUT FAILED: $name did not complete $arn: its primary deployment is $primary ($state: $(jq -r '.rolloutStateReason // "no reason given"' <<<"$deployment")). Stopped tasks: $(stopped_reasons "$name" "$arn"). See aws ecs describe-services --cluster $CLUSTER --services $name (events)."
}

cmd_deploy() {
	check_service "${1:-}"
	require_tag
	local service=$1
	require_pushed "$(repo_of "$service")"
	new_task_definition "$service"
	run aws ecs update-service --region "$REGION" --cluster "$CLUSTER" --service "$(service_name "$service")" \
		--task-definition "$NEW_ARN" --force-new-deployment --query service.serviceArn --output text >/dev/null
	rollout "$service" "$NEW_ARN"
	printf -v "DEPLOYED_$(upper "$service")" '%s' "$NEW_ARN"
}

# --- releases ------------------------------------------------------------------------------------------

# release_json TAG: the recorded release TAG, or nothing when none is recorded under that name.
release_json() {
	local placeholder
	placeholder=$(jq -cn --arg prefix "arn:aws:ecs:$REGION:$PLACEHOLDER_ACCOUNT:task-definition/$CLUSTER" \
		--arg tag "$1" '{tag: $tag, previous: "previous-release", services: {web: "\($prefix)-web:40",
		worker: "\($prefix)-worker:40", bot: "\($prefix)-bot:40", metrics: "\($prefix)-metrics:40",
		webhooks: "\($prefix)-webhooks:40"}}')
	capture "$placeholder" aws ssm get-parameter --region "$REGION" --name "$RELEASES/$1" \
		--query Parameter.Value --output text || true
}

# current_release: the latest release's tag; nothing before the first deploy-all.
current_release() {
	local get=(aws ssm get-parameter --region "$REGION" --name "$RELEASES/current" --query Parameter.Value --output text)
	show "${get[@]}"
	if is_dry; then
		printf 'current-release\n'
	else
		"${get[@]}" 2>/dev/null || true # ParameterNotFound: no release yet
	fi
}

# point_schedules ARN: the daily tasks run ARN (a released web revision), never the family's latest.
point_schedules() {
	local arn=$1 schedule current file names
	IFS=, read -r -a names <<<"$SCHEDULES"
	for schedule in "${names[@]}"; do
		current=$(capture "$(jq -cn --arg name "$schedule" '{Name: $name, GroupName: "default",
			Arn: "arn:aws:scheduler:placeholder", ScheduleExpression: "cron(0 3 * * ? *)",
			FlexibleTimeWindow: {Mode: "OFF"}, Target: {Arn: "cluster", RoleArn: "role",
			EcsParameters: {TaskDefinitionArn: "placeholder"}}}')" \
			aws scheduler get-schedule --region "$REGION" --name "$schedule" --output json) ||
			die "cannot read the schedule $schedule (SCHEDULES=$SCHEDULES)"
		file=$WORKDIR/schedule-$schedule.json
		jq --arg arn "$arn" 'del(.Arn, .CreationDate, .LastModificationDate, .ResponseMetadata)
			| .Target.EcsParameters.TaskDefinitionArn = $arn' <<<"$current" >"$file"
		run aws scheduler update-schedule --region "$REGION" --cli-input-json "file://$file" \
			--query ScheduleArn --output text >/dev/null
	done
	note "schedules $SCHEDULES run $arn"
}

# record_release: the ARNs deploy-all verified, as release TAG, after the current one.
record_release() {
	local previous value service var
	previous=$(current_release)
	value=$(jq -cn --arg tag "$TAG" --arg previous "$previous" '{tag: $tag, previous: $previous, services: {}}')
	for service in "${SERVICES[@]}"; do
		var=DEPLOYED_$(upper "$service")
		value=$(jq -c --arg s "$service" --arg arn "${!var}" '.services[$s] = $arn' <<<"$value")
	done
	run aws ssm put-parameter --region "$REGION" --name "$RELEASES/$TAG" --type String --overwrite \
		--value "$value" --query Version --output text >/dev/null
	run aws ssm put-parameter --region "$REGION" --name "$RELEASES/current" --type String --overwrite \
		--value "$TAG" --query Version --output text >/dev/null
	note "release $TAG recorded (after ${previous:-none})"
}

cmd_deploy_all() {
	local service
	cmd_migrate
	for service in "${DEPLOY_ORDER[@]}"; do
		cmd_deploy "$service"
	done
	point_schedules "$DEPLOYED_WEB"
	record_release
}

# rollback SERVICE [RELEASE]: the service back to its revision in RELEASE; by default the release before
# the one it runs (or, when it runs a revision deployed after the last release, that last release).
cmd_rollback() {
	check_service "${1:-}"
	local service=$1 release=${2:-} name running current target json
	name=$(service_name "$service")
	running=$(capture "arn:aws:ecs:$REGION:$PLACEHOLDER_ACCOUNT:task-definition/$(family_of "$service"):$PLACEHOLDER_REVISION" \
		aws ecs describe-services --region "$REGION" --cluster "$CLUSTER" --services "$name" \
		--query 'services[0].taskDefinition' --output text)
	[[ $running == arn:* ]] || die "$name runs no task definition I understand: '$running'"
	if [[ -n $release ]]; then
		[[ $release =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "RELEASE '$release' is not a release tag"
	else
		current=$(current_release)
		[[ -n $current ]] || die "no release is recorded under $RELEASES: deploy-all records them (or pass RELEASE=<tag>)"
		json=$(release_json "$current")
		[[ -n $json ]] || die "the current release $current has no record at $RELEASES/$current"
		if [[ $(jq -r --arg s "$service" '.services[$s] // ""' <<<"$json") == "$running" ]]; then
			release=$(jq -r '.previous // ""' <<<"$json")
			[[ -n $release ]] || die "$name runs release $current, and no release was recorded before it"
			json=""
		else
			release=$current
		fi
	fi
	[[ -n ${json:-} ]] || json=$(release_json "$release")
	[[ -n $json ]] || die "no release $release is recorded (under $RELEASES)"
	target=$(jq -r --arg s "$service" '.services[$s] // ""' <<<"$json")
	[[ $target == arn:* ]] || die "release $release records no task definition for $service"
	[[ $target != "$running" ]] || die "$name already runs $target (release $release)"
	note "$name: $running -> $target (release $release)"
	run aws ecs update-service --region "$REGION" --cluster "$CLUSTER" --service "$name" \
		--task-definition "$target" --query service.serviceArn --output text >/dev/null
	rollout "$service" "$target"
	if [[ $service == web ]]; then
		point_schedules "$target"
	fi
}

# --- main --------------------------------------------------------------------------------------------

usage() {
	sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local command=${1:-}
	[[ -n $command ]] || usage
	shift
	case $command in
	build | push | migrate | deploy | deploy-all | rollback | release) ;;
	*) usage ;;
	esac
	if [[ $command == deploy || $command == rollback ]]; then
		check_service "${1:-}"
	fi
	is_dry && note "DRY_RUN: printing the commands, running no aws or docker command"
	load_names
	if [[ -n ${DEPLOY_WORKDIR:-} ]]; then
		WORKDIR=$DEPLOY_WORKDIR
		mkdir -p "$WORKDIR"
	else
		WORKDIR=$(mktemp -d)
		trap 'rm -rf "$WORKDIR"' EXIT
	fi
	case $command in
	build) cmd_build ;;
	push) cmd_push ;;
	migrate) cmd_migrate ;;
	deploy) cmd_deploy "$@" ;;
	deploy-all) cmd_deploy_all ;;
	rollback) cmd_rollback "$@" ;;
	release)
		cmd_build
		cmd_push
		cmd_deploy_all
		;;
	esac
}

main "$@"
