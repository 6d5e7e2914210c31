{#-
    The comparison an incremental model fed by one source system uses to
    select the rows loaded since its last run (`loaded_at <op> watermark`):
    `>` when the newest load it holds was complete before its last
    successful build, so the first increment after a full load reads only
    the new load; `>=` otherwise (a resumed package keeps its load id) and
    on a full build.
-#}
{% macro incremental_load_operator(source_system) %}
    {%- if not (execute and is_incremental()) -%}
        {{ return('>=') }}
    {%- endif -%}
    {#- a unit test's `this` is a fixture CTE: no table to ask, no history -#}
    {%- if (this | string).startswith('__dbt__cte__') -%}
        {{ return('>=') }}
    {%- endif -%}
    {%- set newest = run_query(
        "select cast(max(loaded_at) as " ~ dbt.type_string() ~ ") from " ~ this
    ).rows[0][0] -%}
    {%- if newest is none -%}
        {{ return('>=') }}
    {%- endif -%}
    {%- if source_system in final_load_watermarks([(source_system, newest)]) -%}
        {{ return('>') }}
    {%- endif -%}
    {{ return('>=') }}
{% endmacro %}
