{#-
    Use a model's custom schema name as-is instead of dbt's default
    `<target_schema>_<custom_schema>`. Models with `+schema: staging` land in
    schema `staging` on every target; models without a custom schema land in
    the target's own schema (`main` on DuckDB, `analytics` on PostgreSQL).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
