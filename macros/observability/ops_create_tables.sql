{#-
    on-run-start: the ops schema and its run-history tables, created when
    missing, so the ops sources exist before the first model reads them and
    the on-run-end hook has somewhere to write. Idempotent; changes nothing
    that exists.

    On DuckDB and PostgreSQL it runs in its own transaction (begin ...
    commit, see ops_run_statements), so it must be the first on-run-start
    hook: dbt clears any transaction before the first hook, and a later hook
    may open one.
-#}
{% macro ops_create_tables() %}
    {%- if execute -%}
        {%- set statements = [
            'create schema if not exists '
            ~ ops_relation('x').include(database=false, identifier=false)
        ] -%}
        {%- for table_name, columns in ops_tables().items() -%}
            {%- do statements.append(
                ops_create_table_sql(ops_relation(table_name), columns)
            ) -%}
        {%- endfor -%}
        {{ ops_run_statements(statements) }}
    {%- endif -%}
{% endmacro %}

{#-
    `create table if not exists` of one ops table. The types of ops_tables
    are written for DuckDB and PostgreSQL (text, double precision); Spark
    spells them string and double and makes the table an Iceberg table,
    like every table of the project there.
-#}
{% macro ops_create_table_sql(relation, columns) -%}
    {{ return(adapter.dispatch('ops_create_table_sql', 'tpch_warehouse')(
        relation, columns
    )) }}
{%- endmacro %}

{% macro default__ops_create_table_sql(relation, columns) -%}
    create table if not exists {{ relation }} (
        {%- for name, data_type in columns %}
        {{ name }} {{ data_type }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__ops_create_table_sql(relation, columns) -%}
    {%- set spark_types = {'text': 'string', 'double precision': 'double'} -%}
    create table if not exists {{ relation }} (
        {%- for name, data_type in columns %}
        {{ name }} {{ spark_types.get(data_type, data_type) }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    ) using iceberg
{%- endmacro %}
