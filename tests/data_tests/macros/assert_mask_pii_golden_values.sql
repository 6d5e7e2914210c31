-- Golden values for mask_pii: the hash recipe is a contract, so these must
-- hold on every adapter. Expected values are sha256 hex of 'golden-salt'
-- followed by the input, computed outside the database, for example:
--     printf '%s' 'golden-salt25-989-741-2988' | sha256sum
-- Covers ASCII, punctuation, non-ASCII (UTF-8 bytes) and null in, null out.
with golden as (

    select
        '25-989-741-2988' as raw_value,
        '913f8bee38544ded81e1f931491d5af9'
        || '062a76aec350d0f8d093a8d27dcd9b2d' as expected_hash

    union all

    select
        'IVhzIApeRb ot,c,E' as raw_value,
        'd4e7562613c6945b07390a794d2bf406'
        || '4c2803378cd7094488351b0d1ec480a3' as expected_hash

    union all

    select
        'Zürich 5' as raw_value,
        '4ee4f302d319cabd2854d40f7ed1beb2'
        || '2e33d4e98d526e39efef6fa25b35001a' as expected_hash

    union all

    select
        null as raw_value,
        null as expected_hash

),

masked as (

    select
        raw_value,
        expected_hash,
        {{ mask_pii('raw_value', salt='golden-salt') }} as actual_hash
    from golden

),

final as (

    select * from masked
    where actual_hash is distinct from expected_hash

)

select * from final
