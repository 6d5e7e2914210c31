{#-
    The hashing contract of the Data Vault: the one place that turns
    business keys and descriptive attributes into hash keys and hashdiffs.
    Changing anything here changes every hash in the vault and forces a
    full reload, so don't. Golden values: tests/data_tests/raw_vault/
    assert_vault_hash_golden_values.sql (same on DuckDB and PostgreSQL).

    kind='key'   (hash keys, `<entity>_hk`): each column is cast to text,
                 trimmed and upper-cased; an empty result counts as null.
    kind='diff'  (hashdiffs, `<entity>_hashdiff`): each column is cast to
                 text as it is, case- and space-sensitive ('' is not null).
    kind='ghost' the ghost record's key: 64 zeros (columns are ignored).

    Then, for both kinds, each value is escaped (backslash becomes two
    backslashes, then | becomes \|), a null becomes the token \N (a lone
    backslash, which escaped data can never produce), the values are
    joined in the given order with the delimiter ||, and the result is the
    lowercase hex SHA-256 of the UTF-8 bytes, cast to varchar(64).
    A key whose every column is null is the ghost key (64 zeros), so a
    missing parent points at the ghost record. Hashed columns must be text,
    integer, decimal, date, timestamp or boolean, whose text form is the
    same on both adapters; never floating point.
-#}
{% macro vault_hash(columns, kind='key') -%}
    {%- if kind not in ['key', 'diff', 'ghost'] -%}
        {{ exceptions.raise_compiler_error(
            "vault_hash: kind must be key, diff or ghost, not " ~ kind
        ) }}
    {%- endif -%}
    {%- set ghost = "'" ~ ('0' * 64) ~ "'" -%}
    {%- if kind == 'ghost' -%}
        cast({{ ghost }} as varchar(64))
    {%- else -%}
        {%- set text_type = dbt.type_string() | lower -%}
        {%- set parts = [] -%}
        {%- for column in columns -%}
            {%- set as_text = 'cast(' ~ column ~ ' as ' ~ text_type ~ ')' -%}
            {%- if kind == 'key' -%}
                {%- set as_text = "nullif(upper(trim(" ~ as_text ~ ")), '')" -%}
            {%- endif -%}
            {%- do parts.append(
                "coalesce(replace(replace(" ~ as_text
                ~ ", " ~ string_literal('\\') ~ ", " ~ string_literal('\\\\') ~ "), '|', "
                ~ string_literal('\\|') ~ "), " ~ string_literal('\\N') ~ ")"
            ) -%}
        {%- endfor -%}
        {%- set joined = parts | join(" || '||' || ") -%}
        {%- if kind == 'key' -%}
            cast(case
                when {% for column in columns -%}
                    {{ "and " if not loop.first }}nullif(trim(cast({{ column }}
                    as {{ text_type }})), '') is null
                {% endfor -%}
                then {{ ghost }}
                else {{ sha256_hex(joined) }}
            end as varchar(64))
        {%- else -%}
            cast({{ sha256_hex(joined) }} as varchar(64))
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
