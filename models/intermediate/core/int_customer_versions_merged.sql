with customer_snapshots as (

    select * from {{ ref('snap_erp__customers') }}

),

contact_snapshots as (

    select * from {{ ref('snap_crm__contacts') }}

),

customer_versions as (

    select
        customer_id,
        {{ scd2_valid_from(['customer_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        customer_name,
        nation_id,
        market_segment,
        account_balance,
        street_address_hash,
        phone_number_hash,
        phone_country_code,
        loaded_at
    from customer_snapshots

),

contact_versions as (

    select
        contact_id,
        customer_id,
        {{ scd2_valid_from(['contact_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from contact_snapshots

),

customer_contact_versions as (

    select
        contact_id,
        customer_id,
        valid_from,
        valid_to,
        lifecycle_stage,
        loyalty_tier,
        preferred_channel,
        has_marketing_consent,
        email_address_hash,
        loaded_at
    from contact_versions
    where customer_id is not null and not is_deleted

),

change_points as (

    select
        customer_id,
        valid_from as changed_at
    from customer_versions

    union

    select
        customer_id,
        valid_from as changed_at
    from customer_contact_versions

    union

    select
        customer_id,
        valid_to as changed_at
    from customer_contact_versions
    where valid_to < {{ scd2_high_date() }}

),

intervals as (

    select
        customer_id,
        changed_at as valid_from,
        coalesce(
            lead(changed_at) over (
                partition by customer_id order by changed_at
            ),
            {{ scd2_high_date() }}
        ) as valid_to
    from change_points

),

merged as (

    select
        intervals.customer_id,
        intervals.valid_from,
        intervals.valid_to,
        customer_versions.is_deleted,
        customer_versions.customer_name,
        customer_versions.nation_id,
        customer_versions.market_segment,
        customer_versions.account_balance,
        customer_versions.street_address_hash,
        customer_versions.phone_number_hash,
        customer_versions.phone_country_code,
        customer_contact_versions.contact_id,
        customer_contact_versions.lifecycle_stage,
        customer_contact_versions.loyalty_tier,
        customer_contact_versions.preferred_channel,
        customer_contact_versions.has_marketing_consent,
        customer_contact_versions.email_address_hash,
        greatest(
            customer_versions.loaded_at,
            coalesce(
                customer_contact_versions.loaded_at,
                customer_versions.loaded_at
            )
        ) as loaded_at

    from intervals
    inner join customer_versions
        on
            intervals.customer_id = customer_versions.customer_id
            and intervals.valid_from >= customer_versions.valid_from
            and intervals.valid_from < customer_versions.valid_to
    left join customer_contact_versions
        on
            intervals.customer_id = customer_contact_versions.customer_id
            and intervals.valid_from >= customer_contact_versions.valid_from
            and intervals.valid_from < customer_contact_versions.valid_to

)

select * from merged
