{#-
    Of a model's watermarks (rows of source system, newest load_at it
    holds from it), the systems whose newest load was complete before this model's last successful build
    started. No row of that load can arrive after such a build, so the next
    run reads only later loads (`>`); for any other system it re-reads the
    newest load (`>=`), which a killed and resumed package may still be
    adding rows to under its load id.
    A load is complete when dlt has recorded its package in the source's
    `_dlt_loads` (status 0, `inserted_at` when it completed); the build's
    start comes from the run history (ops.dbt_node_results). Without either
    (a first run, a history that was cleared, a raw schema without dlt's
    table) no system counts as final: more work, never a missed row.
-#}
{% macro final_load_watermarks(watermarks) %}
    {%- set final = [] -%}
    {%- if not execute -%}
        {{ return(final) }}
    {%- endif -%}
    {%- set history = ops_relation('dbt_node_results') -%}
    {%- if adapter.get_relation(
        database=history.database,
        schema=history.schema,
        identifier=history.identifier,
    ) is none -%}
        {{ return(final) }}
    {%- endif -%}
    {%- set last_build = run_query(
        "select cast(max(started_at) as " ~ dbt.type_string() ~ ") from "
        ~ history ~ " where unique_id = '" ~ model.unique_id
        ~ "' and status = 'success'"
    ).rows[0][0] -%}
    {%- if last_build is none -%}
        {{ return(final) }}
    {%- endif -%}
    {%- set checks = [] -%}
    {%- for system, watermark in watermarks -%}
        {%- set sources = graph.sources.values()
            | selectattr('source_name', 'equalto', system) | list -%}
        {%- set loads = none -%}
        {%- if sources | length > 0 -%}
            {%- set loads = adapter.get_relation(
                database=sources[0].database,
                schema=sources[0].schema,
                identifier='_dlt_loads',
            ) -%}
        {%- endif -%}
        {%- if loads is not none -%}
            {%- do checks.append(
                "select '" ~ system ~ "' as source_system from " ~ loads
                ~ " where status = 0 and "
                ~ dlt_load_id_to_timestamp('load_id')
                ~ " = cast('" ~ watermark ~ "' as timestamp) and "
                ~ timestamp_to_utc('inserted_at')
                ~ " < cast('" ~ last_build ~ "' as timestamp)"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if checks | length > 0 -%}
        {%- for row in run_query(checks | join(' union all ')).rows -%}
            {%- if row[0] not in final -%}
                {%- do final.append(row[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(final) }}
{% endmacro %}
