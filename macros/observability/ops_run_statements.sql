{#-
    The SQL a run-history hook runs: its statements in one transaction
    (begin ... commit, returned for the hook to run) on DuckDB and
    PostgreSQL. Spark has no multi-statement transactions and its Thrift
    server runs one statement per call, so there each statement is run
    here (dbt's statement block), in order, and the hook itself gets no SQL.
-#}
{% macro ops_run_statements(statements) -%}
    {{ return(adapter.dispatch('ops_run_statements', 'tpch_warehouse')(
        statements
    )) }}
{%- endmacro %}

{% macro default__ops_run_statements(statements) -%}
    begin;
    {% for statement in statements -%}
    {{ statement }};
    {% endfor -%}
    commit;
{%- endmacro %}

{% macro spark__ops_run_statements(statements) -%}
    {%- for sql in statements -%}
        {%- call statement('ops_statement', fetch_result=false) -%}
            {{ sql }}
        {%- endcall -%}
    {%- endfor -%}
{%- endmacro %}
