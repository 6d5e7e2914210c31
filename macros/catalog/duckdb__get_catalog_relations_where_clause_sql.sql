{#-
    Override of dbt-duckdb's filter of the catalog query (`dbt docs
    generate`) to the project's relations. dbt-duckdb ORs one
    `upper(schema) = ... and upper(name) = ...` pair per relation, which
    DuckDB evaluates row by row over every column of the database: 3.7 s
    for the demo's 194 relations on a quiet machine (16 s on a busy one).
    The same rows come from one IN list over `schema.name` in 0.02 s.
-#}
{% macro duckdb__get_catalog_relations_where_clause_sql(relations) -%}
    {%- set schemas = [] -%}
    {%- set names = [] -%}
    {%- for relation in relations -%}
        {%- if not relation.schema -%}
            {%- do exceptions.raise_compiler_error(
                '`get_catalog_relations` requires a list of relations, each with a schema'
            ) -%}
        {%- endif -%}
        {%- set schema = relation.schema | lower | replace("'", "''") -%}
        {%- if relation.identifier -%}
            {%- do names.append(schema ~ '.' ~ (relation.identifier | lower | replace("'", "''"))) -%}
        {%- else -%}
            {%- do schemas.append(schema) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if relations | length == 0 %}
    where 1 = 0
    {%- else %}
    where
        {%- if names %}
        lower(table_schema) || '.' || lower(table_name) in (
            '{{ names | unique | join("', '") }}'
        )
        {%- endif %}
        {%- if names and schemas %} or {% endif %}
        {%- if schemas %}
        lower(table_schema) in ('{{ schemas | unique | join("', '") }}')
        {%- endif %}
    {%- endif %}
{%- endmacro %}
