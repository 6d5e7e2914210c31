with customer_versions as (

    select * from {{ ref('int_customer_versions_merged') }}

),

keyed as (

    select
        {{ surrogate_key(['customer_id', 'valid_from']) }} as customer_sk,
        customer_id,
        valid_from,
        valid_to,
        valid_to = {{ scd2_high_date() }} as is_current,
        is_deleted,
        customer_name,
        nation_id,
        {{ surrogate_key(['nation_id']) }} as geography_sk,
        market_segment,
        account_balance,
        street_address_hash,
        phone_number_hash,
        contact_id,
        contact_id is not null as has_crm_profile,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from customer_versions

),

unknown_member as (

    select
        {{ unknown_member_sk() }} as customer_sk,
        cast(-1 as bigint) as customer_id,
        {{ scd2_low_date() }} as valid_from,
        {{ scd2_high_date() }} as valid_to,
        true as is_current,
        false as is_deleted,
        'Unknown customer' as customer_name,
        cast(-1 as bigint) as nation_id,
        {{ unknown_member_sk() }} as geography_sk,
        'UNKNOWN' as market_segment,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as text) as street_address_hash,
        cast(null as text) as phone_number_hash,
        cast(null as bigint) as contact_id,
        false as has_crm_profile,
        cast(null as text) as lifecycle_stage,
        cast(null as text) as loyalty_tier,
        cast(null as text) as preferred_channel,
        cast(null as boolean) as has_marketing_consent,
        cast(null as text) as email_address_hash,
        {{ scd2_low_date() }} as loaded_at

),

final as (

    select
        customer_sk,
        customer_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        customer_name,
        nation_id,
        geography_sk,
        market_segment,
        account_balance,
        street_address_hash,
        phone_number_hash,
        contact_id,
        has_crm_profile,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from keyed

    union all

    select
        customer_sk,
        customer_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        customer_name,
        nation_id,
        geography_sk,
        market_segment,
        account_balance,
        street_address_hash,
        phone_number_hash,
        contact_id,
        has_crm_profile,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from unknown_member

)

select * from final
