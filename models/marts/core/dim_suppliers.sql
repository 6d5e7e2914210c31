with supplier_snapshots as (

    select * from {{ ref('snap_erp__suppliers') }}

),

versions as (

    select
        supplier_id,
        {{ scd2_valid_from(['supplier_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        supplier_name,
        nation_id,
        account_balance,
        street_address_hash,
        phone_number_hash,
        phone_country_code,
        loaded_at
    from supplier_snapshots

),

keyed as (

    select
        {{ surrogate_key(['supplier_id', 'valid_from']) }} as supplier_sk,
        supplier_id,
        valid_from,
        valid_to,
        valid_to = {{ scd2_high_date() }} as is_current,
        is_deleted,
        supplier_name,
        nation_id,
        {{ surrogate_key(['nation_id']) }} as geography_sk,
        account_balance,
        street_address_hash,
        phone_number_hash,
        phone_country_code,
        loaded_at
    from versions

),

unknown_member as (

    select
        {{ unknown_member_sk() }} as supplier_sk,
        cast(-1 as bigint) as supplier_id,
        {{ scd2_low_date() }} as valid_from,
        {{ scd2_high_date() }} as valid_to,
        true as is_current,
        false as is_deleted,
        'Unknown supplier' as supplier_name,
        cast(-1 as bigint) as nation_id,
        {{ unknown_member_sk() }} as geography_sk,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as {{ type_text() }}) as street_address_hash,
        cast(null as {{ type_text() }}) as phone_number_hash,
        cast(null as {{ type_text() }}) as phone_country_code,
        {{ scd2_low_date() }} as loaded_at

),

final as (

    select
        supplier_sk,
        supplier_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        supplier_name,
        nation_id,
        geography_sk,
        account_balance,
        street_address_hash,
        phone_number_hash,
        phone_country_code,
        loaded_at
    from keyed

    union all

    select
        supplier_sk,
        supplier_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        supplier_name,
        nation_id,
        geography_sk,
        account_balance,
        street_address_hash,
        phone_number_hash,
        phone_country_code,
        loaded_at
    from unknown_member

)

select * from final
