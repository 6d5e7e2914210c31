-- Golden values for vault_hash, the hashing contract of the Data Vault
-- (macros/vault/vault_hash.sql). The contract must give these exact hashes
-- on every adapter; expected values were computed outside the database
-- (Python hashlib) from the documented rules, for example the key 42:
--     printf '%s' '42' | sha256sum
-- and the key ('a|b', 'c\'), escaped and joined:
--     printf '%s' 'A\|B||C\\' | sha256sum
with golden as (

    select
        'key: integer' as case_name,
        '73475cb40a568e8da8a045ced110137e'
        || '159f890ac4da883b6b17dc651b3a8049' as expected_hash,
        {{ vault_hash([
            "cast(42 as bigint)",
        ], 'key') }} as actual_hash

    union all

    select
        'key: trimmed and upper-cased' as case_name,
        '173896f9bffa2cadd2e7be97b2ad66af'
        || 'bdc1114b3b097956a33fecf56afdf963' as expected_hash,
        {{ vault_hash([
            "'  abc-1 '",
        ], 'key') }} as actual_hash

    union all

    select
        'key: two parts, second null' as case_name,
        'e1aa4f0993d3ca1dee5c0b871d47c46b'
        || '65df477759c12c721b04a51dc7b17405' as expected_hash,
        {{ vault_hash([
            "cast(7 as bigint)",
            "cast(null as bigint)",
        ], 'key') }} as actual_hash

    union all

    select
        'key: two parts, first null' as case_name,
        '57a80339703f40852dc8048207450d10'
        || '4d2a5696bb7097969605353ccb4c61d7' as expected_hash,
        {{ vault_hash([
            "cast(null as bigint)",
            "cast(7 as bigint)",
        ], 'key') }} as actual_hash

    union all

    select
        'key: delimiter and backslash escaped' as case_name,
        '6dfdd55c6636c8a33396ca4cadd45188'
        || 'bdc47dfdc3048207400b8b18809dbbd7' as expected_hash,
        {{ vault_hash([
            "'a|b'",
            "'c' || chr(92)",
        ], 'key') }} as actual_hash

    union all

    select
        'key: not the same as the escaped split' as case_name,
        'c25c80cb00d7e7fa509d5c7a468c43c1'
        || '19c30a9388158a25f38c6406f3be0fd9' as expected_hash,
        {{ vault_hash([
            "'a'",
            "'b||c' || chr(92)",
        ], 'key') }} as actual_hash

    union all

    select
        'key: all null is the ghost key' as case_name,
        '00000000000000000000000000000000'
        || '00000000000000000000000000000000' as expected_hash,
        {{ vault_hash([
            "cast(null as bigint)",
            "cast(null as " ~ type_text() ~ ")",
        ], 'key') }} as actual_hash

    union all

    select
        'key: blank is null' as case_name,
        '00000000000000000000000000000000'
        || '00000000000000000000000000000000' as expected_hash,
        {{ vault_hash([
            "'   '",
        ], 'key') }} as actual_hash

    union all

    select
        'diff: case-sensitive' as case_name,
        '1d808b1291e211899a5699256eca15c1'
        || '97b1e55b11713e0fabf0544b2d53b452' as expected_hash,
        {{ vault_hash([
            "'Abc'",
            "'abc'",
        ], 'diff') }} as actual_hash

    union all

    select
        'diff: spaces kept' as case_name,
        '3eaf1941003943dfaa935adecffcaaa2'
        || '17e290def6fb0181141ced6c9daabaad' as expected_hash,
        {{ vault_hash([
            "' abc '",
        ], 'diff') }} as actual_hash

    union all

    select
        'diff: empty is not null' as case_name,
        'dbb75c30eb6c0401d96cdb36e294ec5a'
        || '3cc46c1964c06442931bc95c3811c6e5' as expected_hash,
        {{ vault_hash([
            "''",
            "cast(null as " ~ type_text() ~ ")",
        ], 'diff') }} as actual_hash

    union all

    select
        'diff: all null' as case_name,
        'e2c8cdb6d5b982b707760edbdefb6291'
        || 'ff3c5cc24d87dbfca996c467a9c719a6' as expected_hash,
        {{ vault_hash([
            "cast(null as " ~ type_text() ~ ")",
            "cast(null as bigint)",
        ], 'diff') }} as actual_hash

    union all

    select
        'diff: decimal, date, timestamp, boolean' as case_name,
        '9a8513eef4233c69e7a993d6ab25f001'
        || '4f14e2620ddf468cb432cc9a75ebfe58' as expected_hash,
        {{ vault_hash([
            "cast('1.50' as decimal(15, 2))",
            "cast('1998-08-02' as date)",
            "cast('1998-08-02 10:00:00.5' as timestamp)",
            "true",
        ], 'diff') }} as actual_hash

    union all

    select
        'diff: utf-8 bytes' as case_name,
        'a771f7c00ae978b098b2dd58c25f2f25'
        || 'd83cfd8bd4b13c9fd04f028667dd1064' as expected_hash,
        {{ vault_hash([
            "'Zürich'",
            "chr(92) || 'N'",
        ], 'diff') }} as actual_hash

),

final as (

    select * from golden
    where actual_hash is distinct from expected_hash

)

select * from final
