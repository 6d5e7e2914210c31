{#-
    on-run-end: one row per dbt invocation in ops.dbt_invocations and one
    row per node result (models, snapshots, seeds, tests, unit tests, source
    freshness) in ops.dbt_node_results, from dbt's `results`. Runs for every
    command that runs hooks (build, run, test, seed, snapshot, source
    freshness). It only reads attributes that every result has, checks the
    others with `is defined`, and writes plain inserts, so it cannot fail a
    build that the build itself did not fail. Its own transaction on DuckDB
    and PostgreSQL (ops_run_statements): it must stay the first on-run-end
    hook.
-#}
{% macro ops_record_dbt_results(results) %}
    {%- if execute -%}
        {%- set periods = {'minute': 60, 'hour': 3600, 'day': 86400} -%}
        {%- set ended_at = modules.datetime.datetime.now(
            modules.pytz.utc
        ) -%}
        {%- set rows = [] -%}
        {%- set statuses = [] -%}
        {%- for result in results
            if result.node is defined
            and result.node.resource_type != 'operation' -%}
            {%- set node = result.node -%}
            {%- set status = result.status | string -%}
            {%- do statuses.append(status) -%}
            {%- set timing = result.timing or [] -%}
            {%- set started = (timing | first).started_at if timing else none -%}
            {%- set completed = (timing | last).completed_at if timing else none -%}
            {%- set response = result.adapter_response or {} -%}
            {%- set rows_affected = response.get('rows_affected') -%}
            {%- set test_name = none -%}
            {%- set tested_node = none -%}
            {%- set column_name = none -%}
            {%- set severity = none -%}
            {%- set dimension = none -%}
            {%- if node.resource_type == 'test' -%}
                {%- set metadata = node.test_metadata -%}
                {%- set test_name = metadata.name if metadata else 'singular' -%}
                {%- set parents = node.depends_on.nodes | sort -%}
                {%- set tested_node = node.attached_node
                    or (parents | first if parents else none) -%}
                {%- set column_name = node.column_name -%}
                {%- set severity = node.config.severity | string | lower -%}
                {%- set dimension = (node.config.meta or {}).get('quality_dimension') -%}
            {%- endif -%}
            {%- set max_loaded_at = result.max_loaded_at
                if result.max_loaded_at is defined else none -%}
            {%- set age = result.age if result.age is defined else none -%}
            {%- set sla = none -%}
            {%- if node.resource_type == 'source' and node.freshness
                and node.freshness.warn_after
                and node.freshness.warn_after.count -%}
                {%- set sla = node.freshness.warn_after.count
                    * periods.get(node.freshness.warn_after.period | string, 0) -%}
            {%- endif -%}
            {%- do rows.append([
                invocation_id,
                node.unique_id,
                node.resource_type | string,
                node.name,
                status,
                started,
                completed,
                result.execution_time,
                rows_affected if rows_affected is number else none,
                result.failures if result.failures is number else none,
                result.message,
                test_name,
                tested_node,
                column_name,
                severity,
                dimension,
                max_loaded_at,
                age,
                sla,
            ]) -%}
        {%- endfor -%}
        {%- if statuses | select('in', ['error', 'fail', 'runtime error']) | list -%}
            {%- set run_status = 'error' -%}
        {%- elif statuses | select('equalto', 'warn') | list -%}
            {%- set run_status = 'warn' -%}
        {%- else -%}
            {%- set run_status = 'success' -%}
        {%- endif -%}
        {%- set started_at = run_started_at.replace(tzinfo=none) -%}
        {%- set invocation = [
            invocation_id,
            flags.WHICH,
            target.name,
            dbt_version,
            (invocation_args_dict.get('select') or []) | join(' ') or none,
            started_at,
            ended_at.replace(tzinfo=none),
            (ended_at - run_started_at).total_seconds(),
            run_status,
            rows | length,
        ] -%}
        {%- set statements = [] -%}
        {%- set values = [] -%}
        {%- for value in invocation -%}
            {%- do values.append(ops_sql_literal(value)) -%}
        {%- endfor -%}
        {%- do statements.append(
            'insert into ' ~ ops_relation('dbt_invocations')
            ~ ' values (' ~ values | join(', ') ~ ')'
        ) -%}
        {%- for batch in rows | batch(200) -%}
            {%- set tuples = [] -%}
            {%- for row in batch -%}
                {%- set values = [] -%}
                {%- for value in row -%}
                    {%- do values.append(ops_sql_literal(value)) -%}
                {%- endfor -%}
                {%- do tuples.append('(' ~ values | join(', ') ~ ')') -%}
            {%- endfor -%}
            {%- do statements.append(
                'insert into ' ~ ops_relation('dbt_node_results')
                ~ ' values\n' ~ tuples | join(',\n')
            ) -%}
        {%- endfor -%}
        {{ ops_run_statements(statements) }}
    {%- endif -%}
{% endmacro %}
