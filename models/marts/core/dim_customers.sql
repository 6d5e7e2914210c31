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
        phone_country_code,
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
        cast(null as {{ type_text() }}) as street_address_hash,
        cast(null as {{ type_text() }}) as phone_number_hash,
        cast(null as {{ type_text() }}) as phone_country_code,
        cast(null as bigint) as contact_id,
        false as has_crm_profile,
        cast(null as {{ type_text() }}) as lifecycle_stage,
        cast(null as {{ type_text() }}) as loyalty_tier,
        cast(null as {{ type_text() }}) as preferred_channel,
        cast(null as boolean) as has_marketing_consent,
        cast(null as {{ type_text() }}) as email_address_hash,
        {{ scd2_low_date() }} as loaded_at

),

versions as (

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
        phone_country_code,
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
        phone_country_code,
        contact_id,
        has_crm_profile,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from unknown_member

),

-- Type 1 part of the type 6 hybrid: the current version's values, written
-- on every version of the customer (overwritten at each change).
current_values as (

    select
        customer_id,
        market_segment as current_market_segment,
        geography_sk as current_geography_sk,
        loyalty_tier as current_loyalty_tier
    from versions
    where is_current

),

-- Type 3 part: the market segment before the current one, i.e. that of
-- the latest version whose segment differs from the current segment.
earlier_segments as (

    select
        versions.customer_id,
        versions.market_segment,
        row_number() over (
            partition by versions.customer_id
            order by versions.valid_from desc
        ) as recency
    from versions
    inner join current_values
        on versions.customer_id = current_values.customer_id
    where versions.market_segment <> current_values.current_market_segment

),

final as (

    select
        versions.customer_sk,
        versions.customer_id,
        versions.valid_from,
        versions.valid_to,
        versions.is_current,
        versions.is_deleted,
        versions.customer_name,
        versions.nation_id,
        versions.geography_sk,
        versions.market_segment,
        versions.account_balance,
        versions.street_address_hash,
        versions.phone_number_hash,
        versions.phone_country_code,
        versions.contact_id,
        versions.has_crm_profile,
        versions.lifecycle_stage,
        versions.loyalty_tier,
        versions.preferred_channel,
        versions.has_marketing_consent,
        versions.email_address_hash,
        current_values.current_market_segment,
        current_values.current_geography_sk,
        current_values.current_loyalty_tier,
        earlier_segments.market_segment as previous_market_segment,
        versions.loaded_at
    from versions
    inner join current_values
        on versions.customer_id = current_values.customer_id
    left join earlier_segments
        on
            versions.customer_id = earlier_segments.customer_id
            and earlier_segments.recency = 1

)

select * from final
